using Regatta.Grains.Runs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Privacy;

/// <summary>privacy.secureAggregation is refused with robust strategies (with the reason), and, until rounds carry the protocol, at all.</summary>
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
    public void Sum_strategies_are_refused_only_because_rounds_do_not_carry_the_protocol_yet(AggregationStrategy strategy)
    {
        var error = Assert.Single(RunSpecValidator.Validate(With(strategy)));
        Assert.StartsWith("privacy.secureAggregation: not available yet", error);
        Assert.Empty(RunSpecValidator.Validate(With(strategy) with { Privacy = new PrivacySpec() }));
    }

    [Fact]
    public void The_field_reads_from_yaml()
    {
        var spec = RunSpecYaml.Parse("""
            name: secagg
            privacy:
              secureAggregation: true
            """);
        Assert.True(spec.Privacy.SecureAggregation);
    }
}
