namespace Regatta.Runs;

/// <summary>What a run trains, on which data, and by which rules. Validated by RunSpecValidator before a run accepts it.</summary>
[GenerateSerializer, Alias("regatta.RunSpec")]
public sealed record RunSpec
{
    [Id(0)] public string Name { get; init; } = "run";
    [Id(1)] public ModelSpec Model { get; init; } = new();
    [Id(2)] public DataSpec Data { get; init; } = new();
    [Id(3)] public TrainingSpec Training { get; init; } = new();
    /// <summary>Number of rounds to commit before the run is Finished.</summary>
    [Id(4)] public int Rounds { get; init; } = 10;
    [Id(5)] public int MinClients { get; init; } = 2;
    /// <summary>Accepted updates needed to close a round at its deadline.</summary>
    [Id(6)] public int MinUpdates { get; init; } = 1;
    [Id(7)] public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);
    [Id(8)] public TimeSpan RoundDeadline { get; init; } = TimeSpan.FromMinutes(2);
    [Id(9)] public TimeSpan WitnessDeadline { get; init; } = TimeSpan.FromMinutes(1);
    [Id(10)] public int MaxRoundAttempts { get; init; } = 3;
    [Id(11)] public SelectionSpec Selection { get; init; } = new();
    [Id(12)] public WitnessSpec Witnesses { get; init; } = new();
    [Id(13)] public AggregationSpec Aggregation { get; init; } = new();
    [Id(14)] public int CheckpointEvery { get; init; } = 1;
    [Id(15)] public long Seed { get; init; } = 42;
    /// <summary>A pending worker presenting this token when it joins is admitted to this run (not approved globally). The run keeps only its hash: views never show it.</summary>
    [Id(16)] public string? JoinToken { get; init; }
    /// <summary>Stop early once the coordinator's held-out accuracy reaches this (0 = run all rounds).</summary>
    [Id(17)] public double TargetAccuracy { get; init; }
    [Id(18)] public TimeSpan Cooldown { get; init; } = TimeSpan.Zero;
    /// <summary>How long a new member has to confirm the run kit and answer the connectivity echo before it is dropped.</summary>
    [Id(19)] public TimeSpan ProvisionTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Differential privacy of the members' updates (see docs/privacy.md).</summary>
    [Id(20)] public PrivacySpec Privacy { get; init; } = new();
}

[GenerateSerializer, Alias("regatta.ModelSpec")]
public sealed record ModelSpec
{
    /// <summary>mlp, cnn or transformer.</summary>
    [Id(0)] public string Name { get; init; } = "mlp";
    /// <summary>Architecture hyper-parameters by name (e.g. inputs, hidden, classes, blocks, heads, width).</summary>
    [Id(1)] public Dictionary<string, int> Parameters { get; init; } = new();
}

[GenerateSerializer, Alias("regatta.DataSpec")]
public sealed record DataSpec
{
    /// <summary>A generator (blobs, digits, chars) or a loader (csv:PATH, idx:IMAGES,LABELS, text:PATH).</summary>
    [Id(0)] public string Source { get; init; } = "blobs";
    /// <summary>iid or dirichlet.</summary>
    [Id(1)] public string Partitioning { get; init; } = "iid";
    /// <summary>Dirichlet concentration for non-IID partitions; smaller is more skewed.</summary>
    [Id(2)] public double Alpha { get; init; } = 0.5;
    /// <summary>Examples per member partition (generators) before the held-out split.</summary>
    [Id(3)] public int SamplesPerClient { get; init; } = 600;
    /// <summary>Fraction of each partition kept back for witness evaluation.</summary>
    [Id(4)] public double HoldOut { get; init; } = 0.2;
    /// <summary>Number of partitions the data is cut into; member i trains on partition i mod Partitions.</summary>
    [Id(5)] public int Partitions { get; init; } = 3;
    /// <summary>Examples in the coordinator's own held-out validation set (0 = none).</summary>
    [Id(6)] public int ValidationSamples { get; init; } = 1000;
}

[GenerateSerializer, Alias("regatta.TrainingSpec")]
public sealed record TrainingSpec
{
    [Id(0)] public int LocalEpochs { get; init; } = 1;
    [Id(1)] public int BatchSize { get; init; } = 32;
    [Id(2)] public double LearningRate { get; init; } = 0.05;
    /// <summary>sgd or adam.</summary>
    [Id(3)] public string Optimizer { get; init; } = "sgd";
    /// <summary>FedProx proximal coefficient μ (0 = plain local SGD).</summary>
    [Id(4)] public double ProximalMu { get; init; }
}

[GenerateSerializer, Alias("regatta.SelectionStrategy")]
public enum SelectionStrategy { All, RandomK, Fraction }

[GenerateSerializer, Alias("regatta.SelectionSpec")]
public sealed record SelectionSpec
{
    [Id(0)] public SelectionStrategy Strategy { get; init; } = SelectionStrategy.All;
    [Id(1)] public int K { get; init; } = 2;
    [Id(2)] public double Fraction { get; init; } = 0.5;
}

[GenerateSerializer, Alias("regatta.WitnessSpec")]
public sealed record WitnessSpec
{
    /// <summary>Witnesses per round (0 = rounds commit on the coordinator's checks alone).</summary>
    [Id(0)] public int Count { get; init; } = 1;
    /// <summary>Attestations that must agree to commit.</summary>
    [Id(1)] public int Quorum { get; init; } = 1;
    /// <summary>A candidate whose witnessed loss exceeds the previous committed loss by more than this (relative) is rejected.</summary>
    [Id(2)] public double LossTolerance { get; init; } = 0.5;
}

[GenerateSerializer, Alias("regatta.AggregationStrategy")]
public enum AggregationStrategy { FedAvg, FedProx, Median, TrimmedMean, Krum, MultiKrum, FedAdam }

[GenerateSerializer, Alias("regatta.AggregationSpec")]
public sealed record AggregationSpec
{
    [Id(0)] public AggregationStrategy Strategy { get; init; } = AggregationStrategy.FedAvg;
    [Id(1)] public double TrimFraction { get; init; } = 0.2;
    /// <summary>Byzantine clients tolerated by Krum (f).</summary>
    [Id(2)] public int ByzantineClients { get; init; } = 1;
    /// <summary>Updates averaged by Multi-Krum (m).</summary>
    [Id(3)] public int MultiKrumSelect { get; init; } = 2;
    [Id(4)] public double ServerLearningRate { get; init; } = 0.1;
    [Id(5)] public double Beta1 { get; init; } = 0.9;
    [Id(6)] public double Beta2 { get; init; } = 0.99;
    [Id(7)] public double Epsilon { get; init; } = 1e-3;
    /// <summary>Updates whose L2 norm exceeds this are refused (0 = no bound).</summary>
    [Id(8)] public double MaxUpdateNorm { get; init; } = 100;
}

[GenerateSerializer, Alias("regatta.PrivacySpec")]
public sealed record PrivacySpec
{
    /// <summary>Differentially private aggregation; null: none.</summary>
    [Id(0)] public DpSpec? Dp { get; init; }
    /// <summary>
    /// Secure aggregation (pairwise masking, Bonawitz et al. 2017): the coordinator learns only the sum of the selected
    /// members' updates (Learning/Privacy/SecureAggregation, carried by SecAggRoundGrain; docs/privacy.md).
    /// </summary>
    [Id(1)] public bool SecureAggregation { get; init; }
    /// <summary>Secure aggregation's threshold t: members that must finish a round, and shares that rebuild a secret. 0: ⌊n/2⌋ + 1 of the n selected (at least 2).</summary>
    [Id(2)] public int SecAggThreshold { get; init; }
    /// <summary>Secure aggregation's fixed-point range R: every value a member masks is clipped to [−R, R].</summary>
    [Id(3)] public double SecAggRange { get; init; } = 1;
    /// <summary>How long each phase of the secure-aggregation protocol waits for members (the masked-input phase also waits for the round's deadline).</summary>
    [Id(4)] public TimeSpan SecAggPhaseTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

[GenerateSerializer, Alias("regatta.DpMode")]
public enum DpMode
{
    /// <summary>The coordinator clips each update and adds Gaussian noise to their sum (members trust the coordinator).</summary>
    Central,
    /// <summary>Each member clips and noises its own update before upload (members trust no one).</summary>
    Local,
}

/// <summary>
/// The Gaussian mechanism on members' updates: each update is clipped to <see cref="ClipNorm"/> (L2) and noise of
/// standard deviation <see cref="NoiseMultiplier"/> × <see cref="ClipNorm"/> is added (to the sum, or to each update
/// in local mode). The run reports the ε spent at <see cref="Delta"/> after every round.
/// </summary>
[GenerateSerializer, Alias("regatta.DpSpec")]
public sealed record DpSpec
{
    [Id(0)] public DpMode Mode { get; init; } = DpMode.Central;
    [Id(1)] public double ClipNorm { get; init; } = 1;
    /// <summary>σ / clipNorm. 0: solved from <see cref="TargetEpsilon"/> when the run is created.</summary>
    [Id(2)] public double NoiseMultiplier { get; init; }
    /// <summary>The ε the run's planned rounds should spend at <see cref="Delta"/>; the noise multiplier is solved from it.</summary>
    [Id(3)] public double TargetEpsilon { get; init; }
    [Id(4)] public double Delta { get; init; } = 1e-5;
    /// <summary>The run finishes before a round that would spend more than this ε (0 = no budget).</summary>
    [Id(5)] public double MaxEpsilon { get; init; }
}
