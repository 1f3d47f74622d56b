using Regatta.Grains.Runs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Privacy;

/// <summary>privacy.dp is validated like the rest of the spec: each error names its path and says why.</summary>
public class DpSpecValidationTests
{
    private static RunSpec With(DpSpec dp, AggregationSpec? aggregation = null) => new()
    {
        Privacy = new PrivacySpec { Dp = dp },
        Aggregation = aggregation ?? new AggregationSpec(),
    };

    [Fact]
    public void A_central_and_a_local_spec_are_valid()
    {
        Assert.Empty(RunSpecValidator.Validate(With(new DpSpec { NoiseMultiplier = 1.1, ClipNorm = 1, MaxEpsilon = 10 })));
        Assert.Empty(RunSpecValidator.Validate(With(new DpSpec { Mode = DpMode.Local, TargetEpsilon = 8 }, new AggregationSpec { MaxUpdateNorm = 0 })));
    }

    public static TheoryData<string, RunSpec, string> Errors => new()
    {
        { "no noise", With(new DpSpec()), "privacy.dp.noiseMultiplier: give noiseMultiplier > 0, or targetEpsilon to solve it from" },
        { "both", With(new DpSpec { NoiseMultiplier = 1, TargetEpsilon = 3 }), "privacy.dp.targetEpsilon: give either noiseMultiplier or targetEpsilon, not both" },
        { "clip", With(new DpSpec { NoiseMultiplier = 1, ClipNorm = 0 }), "privacy.dp.clipNorm: must be a finite number > 0" },
        { "delta", With(new DpSpec { NoiseMultiplier = 1, Delta = 0 }), "privacy.dp.delta: must be in (0, 1); below 1 / (number of members) to mean anything" },
        { "sigma", With(new DpSpec { NoiseMultiplier = -1 }), "privacy.dp.noiseMultiplier: must be in [0, 1000] (0 = solve it from targetEpsilon)" },
        { "budget", With(new DpSpec { NoiseMultiplier = 1, MaxEpsilon = -1 }), "privacy.dp.maxEpsilon: must be a finite number ≥ 0 (0 = no budget)" },
        { "clip over bound", With(new DpSpec { NoiseMultiplier = 1, ClipNorm = 200 }), "privacy.dp.clipNorm: must not exceed aggregation.maxUpdateNorm (100): clipped updates would be refused" },
        { "unreachable", new RunSpec { Rounds = 100_000, Privacy = new PrivacySpec { Dp = new DpSpec { TargetEpsilon = 0.001, Delta = 1e-9 } } },
            "privacy.dp.targetEpsilon: no noise multiplier up to 1000 keeps 100000 rounds at sampling rate 1 within ε = 0.001 at δ = 1E-09" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Each_wrong_field_is_named(string _, RunSpec spec, string error)
    {
        Assert.Equal([error], RunSpecValidator.Validate(spec));
    }

    [Theory]
    [InlineData(AggregationStrategy.Median)]
    [InlineData(AggregationStrategy.TrimmedMean)]
    [InlineData(AggregationStrategy.Krum)]
    [InlineData(AggregationStrategy.MultiKrum)]
    public void Robust_strategies_are_refused_with_the_reason(AggregationStrategy strategy)
    {
        var spec = With(new DpSpec { NoiseMultiplier = 1 }, new AggregationSpec { Strategy = strategy }) with { MinUpdates = 1, MinClients = 5 };
        var error = Assert.Single(RunSpecValidator.Validate(spec), e => e.StartsWith("privacy.dp", StringComparison.Ordinal));
        Assert.Contains($"aggregation.strategy {strategy} cannot be combined with differential privacy", error);
        Assert.Contains("clipNorm / n", error);
    }

    [Fact]
    public void Local_mode_needs_the_update_norm_bound_off()
    {
        var error = Assert.Single(RunSpecValidator.Validate(With(new DpSpec { Mode = DpMode.Local, NoiseMultiplier = 1 })));
        Assert.StartsWith("privacy.dp.mode: local mode needs aggregation.maxUpdateNorm: 0", error);
    }

    [Fact]
    public void A_budget_smaller_than_one_round_is_refused()
    {
        var error = Assert.Single(RunSpecValidator.Validate(With(new DpSpec { NoiseMultiplier = 0.5, MaxEpsilon = 0.1 })));
        Assert.StartsWith("privacy.dp.maxEpsilon: one round already spends ε = ", error);
    }

    [Fact]
    public void The_section_round_trips_through_yaml()
    {
        var spec = RunSpecYaml.Parse("""
            name: dp
            privacy:
              dp:
                mode: local
                clipNorm: 0.5
                targetEpsilon: 8
                delta: 1e-6
                maxEpsilon: 10
            """);
        Assert.Equal(new DpSpec { Mode = DpMode.Local, ClipNorm = 0.5, TargetEpsilon = 8, Delta = 1e-6, MaxEpsilon = 10 }, spec.Privacy.Dp);
        Assert.Equal(spec.Privacy.Dp, RunSpecYaml.Parse(RunSpecYaml.Write(spec)).Privacy.Dp);
        Assert.Null(RunSpecYaml.Parse("name: plain").Privacy.Dp);
    }
}
