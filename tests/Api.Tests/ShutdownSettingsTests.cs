using Microsoft.Extensions.Configuration;
using Regatta.Silo;

namespace Regatta.Api.Tests;

/// <summary>Regatta:ShutdownTimeout and Regatta:DrainDelay: defaults that fit deploy/k8s, and clear refusals.</summary>
public sealed class ShutdownSettingsTests
{
    [Fact]
    public void Defaults_drain_briefly_and_stop_within_fifty_seconds()
    {
        var settings = SiloSettings.From(Section());
        Assert.Equal(TimeSpan.FromSeconds(50), settings.ShutdownTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.DrainDelay);
        settings = SiloSettings.From(Section(("ShutdownTimeout", "00:01:30"), ("DrainDelay", "0")));
        Assert.Equal(TimeSpan.FromSeconds(90), settings.ShutdownTimeout);
        Assert.Equal(TimeSpan.Zero, settings.DrainDelay);
    }

    [Theory]
    [InlineData("ShutdownTimeout", "soon", "Regatta:ShutdownTimeout must be a duration")]
    [InlineData("ShutdownTimeout", "00:00:00", "Regatta:ShutdownTimeout must be a duration")]
    [InlineData("DrainDelay", "-00:00:01", "Regatta:DrainDelay must be a duration")]
    [InlineData("DrainDelay", "00:00:50", "Regatta:DrainDelay (00:00:50) must be shorter than Regatta:ShutdownTimeout (00:00:50)")]
    public void A_bad_duration_is_refused_naming_the_key(string key, string value, string message)
    {
        var error = Assert.Throws<InvalidOperationException>(() => SiloSettings.From(Section((key, value))));
        Assert.Contains(message, error.Message);
    }

    private static IConfiguration Section(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();
}
