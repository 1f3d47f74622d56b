using System.Text.RegularExpressions;
using Regatta.Grains.Runs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>Every error names the offending path, and every error is reported at once.</summary>
public class RunSpecValidatorTests
{
    private static readonly RunSpec Valid = new();

    [Fact]
    public void The_default_spec_is_valid()
    {
        Assert.Empty(RunSpecValidator.Validate(new RunSpec()));
    }

    [Fact]
    public void The_spec_the_lifecycle_tests_use_is_valid()
    {
        Assert.Empty(RunSpecValidator.Validate(RunHarness.DefaultSpec));
    }

    /// <summary>One wrong field each, and the exact error it must produce.</summary>
    public static TheoryData<string, RunSpec, string> SingleErrors => new()
    {
        { "minClients 0", Valid with { MinClients = 0 }, "minClients: must be at least 1" },
        { "minClients -1", Valid with { MinClients = -1 }, "minClients: must be at least 1" },
        { "roundDeadline 0", Valid with { RoundDeadline = TimeSpan.Zero }, "roundDeadline: must be greater than 0" },
        { "roundDeadline < 0", Valid with { RoundDeadline = TimeSpan.FromSeconds(-1) }, "roundDeadline: must be greater than 0" },
        { "witnessDeadline 0", Valid with { WitnessDeadline = TimeSpan.Zero }, "witnessDeadline: must be greater than 0" },
        { "witnessDeadline < 0", Valid with { WitnessDeadline = TimeSpan.FromMinutes(-1) }, "witnessDeadline: must be greater than 0" },
        { "warmup < 0", Valid with { Warmup = TimeSpan.FromSeconds(-1) }, "warmup: must not be negative" },
        { "cooldown < 0", Valid with { Cooldown = TimeSpan.FromSeconds(-1) }, "cooldown: must not be negative" },
        { "trimFraction 0.5", Valid with { Aggregation = new AggregationSpec { TrimFraction = 0.5 } }, "aggregation.trimFraction: must be in [0, 0.5)" },
        { "trimFraction < 0", Valid with { Aggregation = new AggregationSpec { TrimFraction = -0.1 } }, "aggregation.trimFraction: must be in [0, 0.5)" },
        { "quorum > count", Valid with { Witnesses = new WitnessSpec { Count = 2, Quorum = 3 } }, "witnesses.quorum: must be in [1, witnesses.count (2)]" },
        { "quorum 0", Valid with { Witnesses = new WitnessSpec { Count = 2, Quorum = 0 } }, "witnesses.quorum: must be in [1, witnesses.count (2)]" },
        { "lossTolerance NaN", Valid with { Witnesses = new WitnessSpec { LossTolerance = double.NaN } }, "witnesses.lossTolerance: must be a finite number ≥ 0" },
        { "lossTolerance < 0", Valid with { Witnesses = new WitnessSpec { LossTolerance = -0.1 } }, "witnesses.lossTolerance: must be a finite number ≥ 0" },
        { "rounds 0", Valid with { Rounds = 0 }, "rounds: must be in [1, 100000]" },
        { "maxRoundAttempts 0", Valid with { MaxRoundAttempts = 0 }, "maxRoundAttempts: must be at least 1" },
        { "checkpointEvery 0", Valid with { CheckpointEvery = 0 }, "checkpointEvery: must be at least 1" },
        { "minUpdates 0", Valid with { MinUpdates = 0 }, "minUpdates: must be at least 1" },
        { "minUpdates > minClients", Valid with { MinClients = 2, MinUpdates = 3 }, "minUpdates: must not exceed minClients (2)" },
        { "targetAccuracy > 1", Valid with { TargetAccuracy = 1.5 }, "targetAccuracy: must be in [0, 1]" },
        { "joinToken short", Valid with { JoinToken = "short" }, "joinToken: must be 8 to 200 characters when set" },
        { "name empty", Valid with { Name = " " }, "name: must be 1 to 100 characters" },
        { "fraction 0", Valid with { Selection = new SelectionSpec { Strategy = SelectionStrategy.Fraction, Fraction = 0 } }, "selection.fraction: must be in (0, 1]" },
        { "fraction > 1", Valid with { Selection = new SelectionSpec { Strategy = SelectionStrategy.Fraction, Fraction = 1.5 } }, "selection.fraction: must be in (0, 1]" },
        { "strategy undefined", Valid with { Selection = new SelectionSpec { Strategy = (SelectionStrategy)42 } }, "selection.strategy: must be all, randomK or fraction" },
        { "minUpdates > k", Valid with { MinClients = 3, MinUpdates = 3, Selection = new SelectionSpec { Strategy = SelectionStrategy.RandomK, K = 2 } }, "minUpdates: must not exceed selection.k (2)" },
        { "beta1 1", Valid with { Aggregation = new AggregationSpec { Beta1 = 1 } }, "aggregation.beta1: must be in [0, 1)" },
        { "epsilon 0", Valid with { Aggregation = new AggregationSpec { Epsilon = 0 } }, "aggregation.epsilon: must be greater than 0" },
        { "serverLearningRate 0", Valid with { Aggregation = new AggregationSpec { ServerLearningRate = 0 } }, "aggregation.serverLearningRate: must be greater than 0" },
        { "maxUpdateNorm inf", Valid with { Aggregation = new AggregationSpec { MaxUpdateNorm = double.PositiveInfinity } }, "aggregation.maxUpdateNorm: must be a finite number ≥ 0 (0 = no bound)" },
        { "krum with too few updates", Valid with { Aggregation = new AggregationSpec { Strategy = AggregationStrategy.Krum, ByzantineClients = 1 } }, "minUpdates: Krum needs at least 2·byzantineClients+3 = 5 updates per round" },
        { "learningRate 0", Valid with { Training = new TrainingSpec { LearningRate = 0 } }, "training.learningRate: must be greater than 0" },
        { "optimizer", Valid with { Training = new TrainingSpec { Optimizer = "rmsprop" } }, "training.optimizer: must be sgd or adam" },
        { "batchSize 0", Valid with { Training = new TrainingSpec { BatchSize = 0 } }, "training.batchSize: must be in [1, 65536]" },
        { "partitioning", Valid with { Data = new DataSpec { Partitioning = "sharded" } }, "data.partitioning: must be iid or dirichlet" },
        { "holdOut 1", Valid with { Data = new DataSpec { HoldOut = 1 } }, "data.holdOut: must be in [0, 1)" },
        { "partitions 0", Valid with { Data = new DataSpec { Partitions = 0 } }, "data.partitions: must be in [1, 100000]" },
        { "source empty", Valid with { Data = new DataSpec { Source = "" } }, "data.source: must be given" },
        { "model name empty", Valid with { Model = new ModelSpec { Name = "" } }, "model.name: must be given" },
    };

    [Theory]
    [MemberData(nameof(SingleErrors), DisableDiscoveryEnumeration = true)]
    public void A_single_wrong_field_gives_one_error_naming_its_path(string field, RunSpec spec, string expected)
    {
        var errors = RunSpecValidator.Validate(spec);

        Assert.True(errors.Count == 1 && errors[0] == expected,
            $"{field}: expected [{expected}] but got [{string.Join("; ", errors)}]");
    }

    [Fact]
    public void Several_errors_are_reported_at_once()
    {
        var spec = Valid with
        {
            MinClients = 0,
            RoundDeadline = TimeSpan.Zero,
            Aggregation = new AggregationSpec { TrimFraction = 0.5 },
            Witnesses = new WitnessSpec { Count = 1, Quorum = 2 },
        };

        var errors = RunSpecValidator.Validate(spec);

        Assert.Equal(4, errors.Count);
        Assert.Contains("minClients: must be at least 1", errors);
        Assert.Contains("roundDeadline: must be greater than 0", errors);
        Assert.Contains("aggregation.trimFraction: must be in [0, 0.5)", errors);
        Assert.Contains("witnesses.quorum: must be in [1, witnesses.count (1)]", errors);
    }

    [Fact]
    public void A_spec_wrong_everywhere_names_a_path_in_every_error()
    {
        var spec = new RunSpec
        {
            Name = "",
            Rounds = 0,
            MinClients = 0,
            MinUpdates = 0,
            Warmup = TimeSpan.FromSeconds(-1),
            RoundDeadline = TimeSpan.Zero,
            WitnessDeadline = TimeSpan.Zero,
            MaxRoundAttempts = 0,
            CheckpointEvery = 0,
            Witnesses = new WitnessSpec { Count = 1, Quorum = 5, LossTolerance = -1 },
            Aggregation = new AggregationSpec { TrimFraction = 0.7, Epsilon = 0 },
            Training = new TrainingSpec { LocalEpochs = 0, Optimizer = "?" },
            Data = new DataSpec { Alpha = 0, HoldOut = -0.5 },
        };

        var errors = RunSpecValidator.Validate(spec);

        Assert.True(errors.Count >= 17, string.Join("\n", errors));
        Assert.All(errors, e => Assert.Matches(new Regex(@"^[a-z][A-Za-z]*(\.[a-z][A-Za-z]*)*: \S"), e));
        Assert.Equal(errors.Count, errors.Distinct().Count());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.2)]
    [InlineData(0.49)]
    public void Trim_fractions_below_one_half_are_valid(double trim)
    {
        Assert.Empty(RunSpecValidator.Validate(Valid with { Aggregation = new AggregationSpec { TrimFraction = trim } }));
    }

    [Fact]
    public void Quorum_is_not_checked_when_no_witnesses_are_asked_for()
    {
        Assert.Empty(RunSpecValidator.Validate(Valid with { Witnesses = new WitnessSpec { Count = 0, Quorum = 0 } }));
    }

    [Fact]
    public void Boundary_values_are_valid()
    {
        var spec = Valid with
        {
            MinClients = 1,
            MinUpdates = 1,
            Rounds = 1,
            Warmup = TimeSpan.Zero,
            Cooldown = TimeSpan.Zero,
            RoundDeadline = TimeSpan.FromTicks(1),
            WitnessDeadline = TimeSpan.FromTicks(1),
            MaxRoundAttempts = 1,
            CheckpointEvery = 1,
            TargetAccuracy = 1,
            JoinToken = "12345678",
            Witnesses = new WitnessSpec { Count = 3, Quorum = 3, LossTolerance = 0 },
            Selection = new SelectionSpec { Strategy = SelectionStrategy.Fraction, Fraction = 1 },
        };

        Assert.Empty(RunSpecValidator.Validate(spec));
    }

    [Fact]
    public void Krum_with_enough_updates_is_valid()
    {
        var spec = Valid with
        {
            MinClients = 5,
            MinUpdates = 5,
            Aggregation = new AggregationSpec { Strategy = AggregationStrategy.Krum, ByzantineClients = 1 },
        };

        Assert.Empty(RunSpecValidator.Validate(spec));
    }
}
