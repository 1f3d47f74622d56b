using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace Regatta.Tests;

internal static class TorchSetup
{
    // xunit runs test classes in parallel; one intra-op thread per test keeps a 2-core host from oversubscribing.
    [ModuleInitializer]
    internal static void OneThreadPerTest() => set_num_threads(1);
}
