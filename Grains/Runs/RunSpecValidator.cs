using Regatta.Grains.Privacy;
using Regatta.Learning.Data;
using Regatta.Learning.Models;
using Regatta.Runs;

namespace Regatta.Grains.Runs;

/// <summary>Checks a run spec and reports every error with its path (e.g. "aggregation.trimFraction: must be in [0, 0.5)").</summary>
public static class RunSpecValidator
{
    /// <param name="limits">The silo's caps and data root (<see cref="CoordinatorOptions"/>); null: the defaults.</param>
    public static List<string> Validate(RunSpec spec, CoordinatorOptions? limits = null)
    {
        limits ??= new CoordinatorOptions();
        var errors = new List<string>();
        // Sections come from outside (YAML "model: ~", JSON null): a missing one is an error, not a crash.
        var sections = new (object? Value, string Path)[]
        {
            (spec.Model, "model"), (spec.Data, "data"), (spec.Training, "training"), (spec.Selection, "selection"),
            (spec.Witnesses, "witnesses"), (spec.Aggregation, "aggregation"), (spec.Privacy, "privacy"),
        };
        foreach (var (value, path) in sections)
            if (value is null) errors.Add($"{path}: must be given");
        if (errors.Count > 0) return errors;
        if (spec.Model.Parameters is null) return ["model.parameters: must be given"];
        void Check(bool ok, string path, string message)
        {
            if (!ok) errors.Add($"{path}: {message}");
        }

        Check(!string.IsNullOrWhiteSpace(spec.Name) && spec.Name.Length <= 100, "name", "must be 1 to 100 characters");
        Check(spec.Rounds >= 1 && spec.Rounds <= 100_000, "rounds", "must be in [1, 100000]");
        Check(spec.MinClients >= 1, "minClients", "must be at least 1");
        Check(spec.MinUpdates >= 1, "minUpdates", "must be at least 1");
        Check(spec.MinUpdates <= Math.Max(1, spec.MinClients), "minUpdates", $"must not exceed minClients ({spec.MinClients})");
        Check(spec.Warmup >= TimeSpan.Zero, "warmup", "must not be negative");
        Check(spec.Cooldown >= TimeSpan.Zero, "cooldown", "must not be negative");
        Check(spec.ProvisionTimeout > TimeSpan.Zero, "provisionTimeout", "must be greater than 0");
        Check(spec.RoundDeadline > TimeSpan.Zero, "roundDeadline", "must be greater than 0");
        Check(spec.WitnessDeadline > TimeSpan.Zero, "witnessDeadline", "must be greater than 0");
        Check(spec.MaxRoundAttempts >= 1, "maxRoundAttempts", "must be at least 1");
        Check(spec.CheckpointEvery >= 1, "checkpointEvery", "must be at least 1");
        Check(spec.TargetAccuracy is >= 0 and <= 1, "targetAccuracy", "must be in [0, 1]");
        Check(spec.JoinToken is null || spec.JoinToken.Length is >= 8 and <= 200, "joinToken", "must be 8 to 200 characters when set");

        var s = spec.Selection;
        Check(Enum.IsDefined(s.Strategy), "selection.strategy", "must be all, randomK or fraction");
        if (s.Strategy == SelectionStrategy.RandomK)
        {
            Check(s.K >= 1, "selection.k", "must be at least 1");
            Check(spec.MinUpdates <= s.K, "minUpdates", $"must not exceed selection.k ({s.K})");
        }
        if (s.Strategy == SelectionStrategy.Fraction)
            Check(s.Fraction is > 0 and <= 1, "selection.fraction", "must be in (0, 1]");

        var w = spec.Witnesses;
        Check(w.Count >= 0, "witnesses.count", "must not be negative");
        Check(w.Count == 0 || w.Quorum is >= 1 && w.Quorum <= w.Count, "witnesses.quorum", $"must be in [1, witnesses.count ({w.Count})]");
        Check(w.LossTolerance >= 0 && double.IsFinite(w.LossTolerance), "witnesses.lossTolerance", "must be a finite number ≥ 0");

        var a = spec.Aggregation;
        Check(Enum.IsDefined(a.Strategy), "aggregation.strategy", "unknown strategy");
        Check(a.TrimFraction is >= 0 and < 0.5, "aggregation.trimFraction", "must be in [0, 0.5)");
        Check(a.ByzantineClients >= 0, "aggregation.byzantineClients", "must not be negative");
        Check(a.MultiKrumSelect >= 1, "aggregation.multiKrumSelect", "must be at least 1");
        Check(a.ServerLearningRate > 0 && double.IsFinite(a.ServerLearningRate), "aggregation.serverLearningRate", "must be greater than 0");
        Check(a.Beta1 is >= 0 and < 1, "aggregation.beta1", "must be in [0, 1)");
        Check(a.Beta2 is >= 0 and < 1, "aggregation.beta2", "must be in [0, 1)");
        Check(a.Epsilon > 0, "aggregation.epsilon", "must be greater than 0");
        Check(a.MaxUpdateNorm >= 0 && double.IsFinite(a.MaxUpdateNorm), "aggregation.maxUpdateNorm", "must be a finite number ≥ 0 (0 = no bound)");
        if (a.Strategy is AggregationStrategy.Krum or AggregationStrategy.MultiKrum)
            Check(spec.MinUpdates >= 2 * a.ByzantineClients + 3, "minUpdates",
                $"Krum needs at least 2·byzantineClients+3 = {2 * a.ByzantineClients + 3} updates per round");

        var t = spec.Training;
        Check(t.LocalEpochs is >= 1 and <= 1000, "training.localEpochs", "must be in [1, 1000]");
        Check(t.BatchSize is >= 1 and <= 65536, "training.batchSize", "must be in [1, 65536]");
        Check(t.LearningRate > 0 && double.IsFinite(t.LearningRate), "training.learningRate", "must be greater than 0");
        Check(t.Optimizer is "sgd" or "adam", "training.optimizer", "must be sgd or adam");
        Check(t.ProximalMu >= 0 && double.IsFinite(t.ProximalMu), "training.proximalMu", "must be ≥ 0");

        var d = spec.Data;
        Check(d.Partitioning is "iid" or "dirichlet", "data.partitioning", "must be iid or dirichlet");
        Check(d.Alpha > 0 && double.IsFinite(d.Alpha), "data.alpha", "must be greater than 0");
        Check(d.SamplesPerClient is >= 1 and <= 10_000_000, "data.samplesPerClient", "must be in [1, 10000000]");
        Check(d.HoldOut is >= 0 and < 1, "data.holdOut", "must be in [0, 1)");
        Check(d.Partitions is >= 1 and <= 100_000, "data.partitions", "must be in [1, 100000]");
        Check(d.ValidationSamples is >= 0 and <= 10_000_000, "data.validationSamples", "must be in [0, 10000000]");
        Check(!string.IsNullOrWhiteSpace(d.Source), "data.source", "must be given");
        Check(!string.IsNullOrWhiteSpace(spec.Model.Name), "model.name", "must be given");
        if (spec.Privacy.Dp is { } dp) CheckDp(spec, dp, errors);
        if (spec.Privacy.SecureAggregation) CheckSecureAggregation(spec, errors);
        if (errors.Count == 0) CheckSize(spec, limits, errors);
        if (errors.Count == 0) errors.AddRange(DataFiles.Check(d, limits.DataRootPath));
        return errors;
    }

    /// <summary>privacy.dp: the Gaussian mechanism's parameters, and the aggregation it is calibrated for.</summary>
    private static void CheckDp(RunSpec spec, DpSpec dp, List<string> errors)
    {
        void Check(bool ok, string path, string message)
        {
            if (!ok) errors.Add($"privacy.dp.{path}: {message}");
        }
        var before = errors.Count;
        Check(Enum.IsDefined(dp.Mode), "mode", "must be central or local");
        Check(dp.ClipNorm > 0 && double.IsFinite(dp.ClipNorm), "clipNorm", "must be a finite number > 0");
        Check(dp.NoiseMultiplier is >= 0 and <= 1000, "noiseMultiplier", "must be in [0, 1000] (0 = solve it from targetEpsilon)");
        Check(dp.TargetEpsilon >= 0 && double.IsFinite(dp.TargetEpsilon), "targetEpsilon", "must be a finite number ≥ 0");
        Check(dp.NoiseMultiplier != 0 || dp.TargetEpsilon > 0, "noiseMultiplier", "give noiseMultiplier > 0, or targetEpsilon to solve it from");
        Check(!(dp.NoiseMultiplier > 0 && dp.TargetEpsilon > 0), "targetEpsilon", "give either noiseMultiplier or targetEpsilon, not both");
        Check(dp.Delta is > 0 and < 1, "delta", "must be in (0, 1); below 1 / (number of members) to mean anything");
        Check(dp.MaxEpsilon >= 0 && double.IsFinite(dp.MaxEpsilon), "maxEpsilon", "must be a finite number ≥ 0 (0 = no budget)");
        Check(PrivacyBudget.IsMean(spec.Aggregation.Strategy), "mode",
            $"aggregation.strategy {spec.Aggregation.Strategy} cannot be combined with differential privacy: the noise is calibrated to one clipped update moving a mean by clipNorm / n, which holds for fedAvg, fedProx and fedAdam only");
        if (dp.Mode == DpMode.Local)
            Check(spec.Aggregation.MaxUpdateNorm == 0, "mode",
                "local mode needs aggregation.maxUpdateNorm: 0 (a noised update's norm is about noiseMultiplier · clipNorm · √parameters, far above any bound for the clean one)");
        else
            Check(spec.Aggregation.MaxUpdateNorm == 0 || spec.Aggregation.MaxUpdateNorm >= dp.ClipNorm, "clipNorm",
                $"must not exceed aggregation.maxUpdateNorm ({spec.Aggregation.MaxUpdateNorm}): clipped updates would be refused");
        if (errors.Count > before) return;
        if (dp.TargetEpsilon > 0 && PrivacyBudget.Solve(spec) is null)
            Check(false, "targetEpsilon", $"no noise multiplier up to 1000 keeps {spec.Rounds} rounds at sampling rate {PrivacyBudget.PlannedSamplingRate(spec):0.###} within ε = {dp.TargetEpsilon} at δ = {dp.Delta}");
        var sigma = dp.NoiseMultiplier > 0 ? dp.NoiseMultiplier : PrivacyBudget.Solve(spec);
        if (dp.MaxEpsilon > 0 && sigma is { } s)
        {
            var first = RdpAccountant.Epsilon(RdpAccountant.Step(PrivacyBudget.PlannedSamplingRate(spec), s), dp.Delta);
            Check(first <= dp.MaxEpsilon, "maxEpsilon", $"one round already spends ε = {first:0.###} (noise multiplier {s:0.###}); raise maxEpsilon or the noise");
        }
    }

    /// <summary>privacy.secureAggregation: only a sum can be unmasked; the threshold, range and phase timeout must work.</summary>
    private static void CheckSecureAggregation(RunSpec spec, List<string> errors)
    {
        var p = spec.Privacy;
        var strategy = spec.Aggregation.Strategy;
        if (!PrivacyBudget.IsMean(strategy))
            errors.Add($"privacy.secureAggregation: aggregation.strategy {strategy} cannot be combined with secure aggregation: the coordinator learns only the sum of the updates, and {strategy} needs to see every update on its own; use fedAvg, fedProx or fedAdam");
        if (p.SecAggThreshold != 0 && (p.SecAggThreshold < 2 || p.SecAggThreshold > spec.MinClients))
            errors.Add($"privacy.secAggThreshold: must be 0 (⌊n/2⌋ + 1 of the n selected) or in [2, minClients = {spec.MinClients}]: one member's masked input alone would be its update, and more than the selected members can never finish");
        if (p.SecAggThreshold == 0 && spec.MinClients < 2)
            errors.Add("privacy.secureAggregation: needs minClients ≥ 2 (a sum of one update is that update)");
        if (!(p.SecAggRange > 0 && p.SecAggRange <= 1e6))
            errors.Add("privacy.secAggRange: must be in (0, 1e6]: every value a member masks is clipped to [−range, range]");
        if (p.SecAggPhaseTimeout <= TimeSpan.Zero || p.SecAggPhaseTimeout > TimeSpan.FromHours(1))
            errors.Add("privacy.secAggPhaseTimeout: must be in (0, 1h]");
    }

    /// <summary>The caps on what a spec makes the silo and every member allocate: model parameters and samples × features.</summary>
    private static void CheckSize(RunSpec spec, CoordinatorOptions limits, List<string> errors)
    {
        if (ModelCatalog.Validate(spec.Model).Count > 0) return; // the model runtime names what is wrong with it
        var architecture = ModelCatalog.Describe(spec.Model);
        var parameters = architecture.ParameterCount;
        if (parameters > limits.MaxModelParameters)
            errors.Add($"model.parameters: the model has {parameters:N0} parameters, more than the limit of {limits.MaxModelParameters:N0} (Regatta:MaxModelParameters)");
        var features = architecture.Input.ExampleShape.Aggregate(1L, (a, b) => a * b);
        var d = spec.Data;
        var generated = DataSource.Parse(d.Source, []) is { IsGenerator: true };
        // Generators draw samplesPerClient × partitions examples plus the validation set; a file source's size is the
        // file's, and the spec bounds only the validation set the silo keeps of it.
        var samples = (generated ? (long)d.SamplesPerClient * d.Partitions : 0) + d.ValidationSamples;
        var total = samples * features;
        if (total > limits.MaxSampleFeatures)
            errors.Add($"{(generated ? "data.samplesPerClient" : "data.validationSamples")}: {samples:N0} samples × {features:N0} features = {total:N0}, more than the limit of {limits.MaxSampleFeatures:N0} (Regatta:MaxSampleFeatures)");
    }
}
