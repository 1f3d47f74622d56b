using Regatta.Grains.Runs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Privacy;

/// <summary>privacy.secureAggregation is refused with robust strategies (with the reason), taken with sum-based ones; its threshold, range and phase timeout are checked.</summary>
public class SecureAggregationSpecTests
{
    private static RunSpec With(AggregationStrategy strategy) => new RunSpec
    {
        Privacy = new PrivacySpec { SecureAggregation = true },
        Aggregation = new AggregationSpec { Strategy = strategy },
    } with { MinUpdates = 1, MinClients = 5 };

    [Theory]
    [InlineData(AggregationStrategy.Median)]
    [InlineData(AggregationStrategy.TrimmedMean)]
    [InlineData(AggregationStrategy.Krum)]
    [InlineData(AggregationStrategy.MultiKrum)]
    public void Robust_strategies_are_refused_with_the_reason(AggregationStrategy strategy)
    {
        var errors = RunSpecValidator.Validate(With(strategy));
        Assert.Contains($"privacy.secureAggregation: aggregation.strategy {strategy} cannot be combined with secure aggregation: the coordinator learns only the sum of the updates, and {strategy} needs to see every update on its own; use fedAvg, fedProx or fedAdam", errors);
    }

    [Theory]
    [InlineData(AggregationStrategy.FedAvg)]
    [InlineData(AggregationStrategy.FedProx)]
    [InlineData(AggregationStrategy.FedAdam)]
    public void Sum_strategies_are_taken(AggregationStrategy strategy)
    {
        Assert.Empty(RunSpecValidator.Validate(With(strategy)));
    }

    [Theory]
    [InlineData(1, 1, 30, "privacy.secAggThreshold: must be 0")]
    [InlineData(6, 1, 30, "privacy.secAggThreshold: must be 0")]
    [InlineData(0, 0, 30, "privacy.secAggRange: must be in (0, 1e6]")]
    [InlineData(0, 1, 0, "privacy.secAggPhaseTimeout: must be in (0, 1h]")]
    public void Settings_that_cannot_run_a_round_are_refused(int threshold, double range, int phaseSeconds, string error)
    {
        var spec = With(AggregationStrategy.FedAvg) with
        {
            Privacy = new PrivacySpec { SecureAggregation = true, SecAggThreshold = threshold, SecAggRange = range, SecAggPhaseTimeout = TimeSpan.FromSeconds(phaseSeconds) },
        };
        Assert.StartsWith(error, Assert.Single(RunSpecValidator.Validate(spec)));
    }

    [Fact]
    public void The_default_threshold_is_a_majority_and_at_least_two()
    {
        Assert.Equal(2, SecAggKeys.Threshold(new PrivacySpec(), 2));
        Assert.Equal(3, SecAggKeys.Threshold(new PrivacySpec(), 4));
        Assert.Equal(51, SecAggKeys.Threshold(new PrivacySpec(), 100));
        Assert.Equal(7, SecAggKeys.Threshold(new PrivacySpec { SecAggThreshold = 7 }, 100));
    }

    [Fact]
    public void The_field_reads_from_yaml()
    {
        var spec = RunSpecYaml.Parse("""
            name: secagg
            privacy:
              secureAggregation: true
              secAggThreshold: 3
              secAggRange: 0.5
              secAggPhaseTimeout: 20s
            """);
        Assert.True(spec.Privacy.SecureAggregation);
        Assert.Equal(3, spec.Privacy.SecAggThreshold);
        Assert.Equal(0.5, spec.Privacy.SecAggRange);
        Assert.Equal(TimeSpan.FromSeconds(20), spec.Privacy.SecAggPhaseTimeout);
    }
}
