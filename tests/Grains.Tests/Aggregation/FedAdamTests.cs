using Regatta.Grains.Aggregation;

namespace Regatta.Grains.Tests.Aggregation;

public class FedAdamTests
{
    // η = 0.3, β1 = 0.5, β2 = 0.75, τ = 1: numbers chosen so one step can be done by hand.
    private const double Lr = 0.3, B1 = 0.5, B2 = 0.75, Tau = 1;

    [Fact]
    public void One_step_by_hand()
    {
        var adam = new FedAdam(2);
        float[] x = [1, 1];
        adam.Apply(x, [2, -4], Lr, B1, B2, Tau);
        // m = 0.5·0 + 0.5·[2,-4] = [1, -2]
        // v = 0.75·0 + 0.25·[4,16] = [1, 4]  →  √v + τ = [2, 3]
        // x = [1,1] + 0.3·[1/2, -2/3] = [1.15, 0.8]
        Assert.Equal(1, adam.Step);
        Assert.Equal([1f, -2f], adam.State.M);
        Assert.Equal([1f, 4f], adam.State.V);
        Assert.Equal(1.15f, x[0], 6);
        Assert.Equal(0.8f, x[1], 6);
    }

    [Fact]
    public void Two_steps_by_hand_and_state_survives_a_round_trip()
    {
        var first = new FedAdam(2);
        float[] x = [1, 1];
        first.Apply(x, [2, -4], Lr, B1, B2, Tau);
        // Persist as plain arrays and continue in a fresh instance, as a grain would after reactivation.
        var saved = first.State;
        var restored = new FedAdam(new FedAdamState((float[])saved.M.Clone(), (float[])saved.V.Clone(), saved.Step));
        restored.Apply(x, [0, 4], Lr, B1, B2, Tau);
        // m = 0.5·[1,-2] + 0.5·[0,4] = [0.5, 1]
        // v = 0.75·[1,4] + 0.25·[0,16] = [0.75, 7]
        // x = [1.15, 0.8] + 0.3·[0.5/(√0.75+1), 1/(√7+1)]
        //   = [1.15 + 0.15/1.8660254, 0.8 + 0.3/3.6457513] = [1.2303848, 0.8822876]
        Assert.Equal(2, restored.Step);
        Assert.Equal([0.5f, 1f], restored.State.M);
        Assert.Equal([0.75f, 7f], restored.State.V);
        Assert.Equal(1.2303848f, x[0], 5);
        Assert.Equal(0.8822876f, x[1], 5);
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        var adam = new FedAdam(2);
        float[] x = [0, 0];
        Assert.Throws<ArgumentException>(() => adam.Apply(x, [1, 2, 3], Lr, B1, B2, Tau));
        Assert.Throws<ArgumentOutOfRangeException>(() => adam.Apply(x, [1, 2], 0, B1, B2, Tau));
        Assert.Throws<ArgumentOutOfRangeException>(() => adam.Apply(x, [1, 2], Lr, 1, B2, Tau));
        Assert.Throws<ArgumentOutOfRangeException>(() => adam.Apply(x, [1, 2], Lr, B1, B2, 0));
        Assert.Contains("non-finite", Assert.Throws<ArgumentException>(() => adam.Apply(x, [float.NaN, 2], Lr, B1, B2, Tau)).Message);
        Assert.Throws<ArgumentException>(() => new FedAdam(new FedAdamState(new float[2], new float[3], 0)));
        Assert.Equal(0, adam.Step);
    }
}
