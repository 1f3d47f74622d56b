using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Tests;

/// <summary>Passes only when libLibTorchSharp.so loads (see docs/torchsharp-glibcxx.md).</summary>
public class NativeLibraryTests
{
    [Fact]
    public void Torch_loads_and_sgd_reduces_loss()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7, CPU);
        var x = randn([64, 3], generator: generator);
        var y = x.matmul(tensor(new float[] { 1, -2, 0.5f }).reshape(3, 1));
        var w = new TorchSharp.Modules.Parameter(zeros(3, 1));
        var optimizer = optim.SGD([w], 0.1);

        float Step()
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(x.matmul(w), y);
            loss.backward();
            optimizer.step();
            return loss.item<float>();
        }

        var first = Step();
        var last = first;
        for (var i = 0; i < 20; i++) last = Step();
        Assert.True(last < first / 10, $"loss {first} -> {last}");
    }
}
