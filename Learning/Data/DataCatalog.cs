using Regatta.Learning.Models;
using Regatta.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Learning.Data;

/// <summary>
/// Builds the data a run trains and validates on from its <see cref="DataSpec"/>. Generators draw
/// <c>SamplesPerClient × Partitions</c> examples for the partitions and a separate stream for the
/// coordinator's validation set; file sources reserve a seeded random <c>ValidationSamples</c> for the
/// coordinator and partition the rest. Passing the run's <see cref="ModelSpec"/> shapes the data for that model
/// (inputs, classes, image size, context); without it generators use small defaults.
/// </summary>
public static class DataCatalog
{
    /// <summary>Model input assumed when no model spec is given.</summary>
    private static readonly ModelInput BlobsDefault = new(DatasetKind.Classification, [2], 4);
    private static readonly ModelInput DigitsDefault = new(DatasetKind.Classification, [1, 8, 8], Digits.Classes);
    private static readonly ModelInput TextDefault = new(DatasetKind.LanguageModel, [32], 64);

    /// <summary>Errors in the spec, path-prefixed (<c>data.source: ...</c>); with a model, also whether the data fits it.</summary>
    public static List<string> Validate(DataSpec spec, ModelSpec? model = null)
    {
        var errors = new List<string>();
        var source = DataSource.Parse(spec.Source, errors);
        if (ParseScheme(spec.Partitioning) is null)
            errors.Add($"data.partitioning: unknown scheme '{spec.Partitioning}' (known: iid, dirichlet)");
        if (!(spec.Alpha > 0) || !double.IsFinite(spec.Alpha))
            errors.Add("data.alpha: must be > 0");
        if (spec.Partitions is < 1 or > 100_000)
            errors.Add("data.partitions: must be between 1 and 100000");
        if (spec.SamplesPerClient is < 2 or > 10_000_000 && source is { IsGenerator: true })
            errors.Add("data.samplesPerClient: must be between 2 and 10000000");
        if ((long)spec.SamplesPerClient * spec.Partitions > 100_000_000 && source is { IsGenerator: true })
            errors.Add("data.samplesPerClient: samplesPerClient × partitions must be <= 100000000");
        if (!(spec.HoldOut >= 0 && spec.HoldOut < 1))
            errors.Add("data.holdOut: must be >= 0 and < 1");
        if (spec.ValidationSamples is < 0 or > 10_000_000)
            errors.Add("data.validationSamples: must be between 0 and 10000000");
        if (source is not null && model is not null && ModelCatalog.Validate(model).Count == 0)
            CheckFit(source, ModelCatalog.Describe(model).Input, errors);
        return errors;
    }

    /// <summary>
    /// Member data: partition <paramref name="partition"/> (taken modulo <c>Partitions</c>, as members map onto
    /// partitions) split into its training part and its held-out part (<c>HoldOut</c>) for witness evaluation.
    /// </summary>
    public static (Dataset Train, Dataset HoldOut) Partition(DataSpec spec, int partition, long seed, ModelSpec? model = null)
    {
        using var all = Partitions(spec, seed, model);
        return all.Take(partition);
    }

    /// <summary>
    /// Every partition at once: the pool is generated or loaded and split once, and each member's part is taken from it.
    /// A process with many members of one run (a simulation) builds this once instead of the whole pool per member.
    /// </summary>
    public static PartitionSet Partitions(DataSpec spec, long seed, ModelSpec? model = null)
    {
        var (source, input, scheme) = Prepare(spec, model);
        var pool = source.IsGenerator
            ? Generate(source, input, spec.SamplesPerClient * spec.Partitions, seed, "partitions")
            : WithoutValidation(FileSplit(source, input, spec, seed));
        try
        {
            var parts = Partitioner.Split(pool.Strata(), spec.Partitions, scheme, spec.Alpha, Seeds.Derive(seed, "data.partition"));
            return new PartitionSet(pool, parts, spec.HoldOut);
        }
        catch
        {
            pool.Dispose();
            throw;
        }
    }

    /// <summary>The coordinator's validation set: <c>ValidationSamples</c> examples from the same distribution, disjoint from every partition.</summary>
    public static Dataset ValidationSet(DataSpec spec, long seed, ModelSpec? model = null)
    {
        var (source, input, _) = Prepare(spec, model);
        if (source.IsGenerator)
            return Generate(source, input, spec.ValidationSamples, seed, "validation");
        var (validation, rest) = FileSplit(source, input, spec, seed);
        rest.Dispose();
        return validation;
    }

    private static Dataset WithoutValidation((Dataset Validation, Dataset Partitionable) split)
    {
        split.Validation.Dispose();
        return split.Partitionable;
    }

    /// <summary>The model input the data will be shaped for (defaults when no model is given).</summary>
    public static ModelInput InputFor(DataSpec spec, ModelSpec? model = null) => Prepare(spec, model).Input;

    private static (DataSource Source, ModelInput Input, PartitionScheme Scheme) Prepare(DataSpec spec, ModelSpec? model)
    {
        var errors = Validate(spec, model);
        if (model is not null) errors.AddRange(ModelCatalog.Validate(model));
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors), nameof(spec));
        var source = DataSource.Parse(spec.Source, errors)!;
        var input = model is not null ? ModelCatalog.Describe(model).Input : source.Kind switch
        {
            DataSourceKind.Blobs => BlobsDefault,
            DataSourceKind.Digits => DigitsDefault,
            DataSourceKind.Chars or DataSourceKind.Text => TextDefault,
            _ => null!, // csv/idx without a model: keep the file's own shape
        };
        return (source, input, ParseScheme(spec.Partitioning)!.Value);
    }

    private static Dataset Generate(DataSource source, ModelInput input, int count, long seed, string stream)
    {
        var raw = source.Kind switch
        {
            DataSourceKind.Blobs => Blobs.Generate(count, (int)Elements(input.ExampleShape), input.Classes, seed, stream),
            DataSourceKind.Digits => Digits.Generate(count, DigitSize(input)!.Value, seed, stream),
            _ => Chars.Generate(count, (int)input.ExampleShape[0], seed, stream),
        };
        return Conform(raw, input, source);
    }

    /// <summary>A file's examples cut, by a seeded permutation, into the validation set and the rest.</summary>
    private static (Dataset Validation, Dataset Partitionable) FileSplit(DataSource source, ModelInput? input, DataSpec spec, long seed)
    {
        using var all = Conform(source.Kind switch
        {
            DataSourceKind.Csv => FileLoaders.Csv(source.Paths[0]),
            DataSourceKind.Idx => FileLoaders.Idx(source.Paths[0], source.Paths[1]),
            _ => FileLoaders.Text(source.Paths[0], (int)input!.ExampleShape[0], input.Classes),
        }, input, source);
        var validation = (int)Math.Min(spec.ValidationSamples, all.Count);
        if (all.Count - validation < 2L * spec.Partitions)
            throw new InvalidDataException(
                $"data.validationSamples: the source has {all.Count} examples; after {validation} for validation too few remain for {spec.Partitions} partitions");
        using var scope = NewDisposeScope();
        using var generator = Seeds.Generator(seed, "data.validation-split");
        var order = randperm(all.Count, generator: generator).data<long>().ToArray();
        return (all.Select(order[..validation]), all.Select(order[validation..]));
    }

    /// <summary>Reshapes classification features to the model's example shape and checks labels fit its classes.</summary>
    private static Dataset Conform(Dataset raw, ModelInput? input, DataSource source)
    {
        if (input is null || raw.Kind == DatasetKind.LanguageModel) return raw;
        using (raw)
        {
            var have = Elements(raw.ExampleShape);
            var want = Elements(input.ExampleShape);
            if (have != want)
                throw new InvalidDataException(
                    $"data.source: examples have {have} values ([{string.Join('x', raw.ExampleShape)}]) but the model takes {want} ([{string.Join('x', input.ExampleShape)}])");
            if (raw.Classes > input.Classes)
                throw new InvalidDataException($"data.source: labels go up to {raw.Classes - 1} but the model has {input.Classes} classes");
            using var scope = NewDisposeScope();
            return new Dataset(raw.Features.reshape([raw.Count, .. input.ExampleShape]), raw.Labels.alias(), DatasetKind.Classification, input.Classes);
        }
    }

    private static void CheckFit(DataSource source, ModelInput input, List<string> errors)
    {
        var wantsText = source.Kind is DataSourceKind.Chars or DataSourceKind.Text;
        if (wantsText != (input.Kind == DatasetKind.LanguageModel))
        {
            errors.Add(wantsText
                ? $"data.source: {source.Kind.ToString().ToLowerInvariant()} is language-model data; use it with the transformer"
                : $"data.source: {source.Kind.ToString().ToLowerInvariant()} is classification data; the transformer needs chars or text:PATH");
            return;
        }
        if (source.Kind == DataSourceKind.Digits)
        {
            if (DigitSize(input) is null)
                errors.Add($"data.source: digits are 1×S×S images (S >= 8); the model takes [{string.Join('x', input.ExampleShape)}]");
            if (input.Classes < Digits.Classes)
                errors.Add($"data.source: digits has {Digits.Classes} classes but the model has {input.Classes}");
        }
        if (source.Kind == DataSourceKind.Chars && input.Classes < Chars.Alphabet.Length)
            errors.Add($"data.source: chars uses {Chars.Alphabet.Length} tokens but model.parameters.vocab is {input.Classes}");
    }

    /// <summary>The digit image side for a model: [1, S, S] (CNN) or S² inputs (MLP), S >= 8; null if neither.</summary>
    private static int? DigitSize(ModelInput input)
    {
        var shape = input.ExampleShape;
        if (shape is [1, var h, var w] && h == w && h >= 8) return (int)h;
        if (shape is [var n] && Math.Sqrt(n) is var side && side == Math.Floor(side) && side >= 8) return (int)side;
        return null;
    }

    internal static int HeldOutCount(int count, double fraction)
    {
        if (fraction <= 0 || count < 2) return 0;
        return Math.Clamp((int)Math.Round(count * fraction), 1, count - 1);
    }

    private static PartitionScheme? ParseScheme(string? scheme) => scheme?.Trim().ToLowerInvariant() switch
    {
        "iid" => PartitionScheme.Iid,
        "dirichlet" => PartitionScheme.Dirichlet,
        _ => null,
    };

    private static long Elements(long[] shape) => shape.Aggregate(1L, (a, b) => a * b);
}
