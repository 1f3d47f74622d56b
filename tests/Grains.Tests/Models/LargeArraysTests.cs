using Regatta.Models;

namespace Regatta.Grains.Tests.Models;

public sealed class LargeArraysTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(4096)]
    [InlineData((8 << 20) - 1)] // below the huge-page threshold
    [InlineData((8 << 20) + 12345)] // advised: starts and ends off a 2 MiB boundary
    [InlineData(40_000_001)]
    public void An_array_has_exactly_the_length_asked_and_keeps_what_is_written(int length)
    {
        var array = LargeArrays.AllocateUninitialized(length);

        Assert.Equal(length, array.Length);
        for (var i = 0; i < length; i += 4093) array[i] = (byte)i;
        array[^1] = 0xab;
        for (var i = 0; i < length - 1; i += 4093) Assert.Equal((byte)i, array[i]);
        Assert.Equal(0xab, array[^1]);
    }
}
