using Regatta.Grains.Runs;
using Regatta.Learning.Models;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>What a spec may make the silo allocate (parameters, samples × features) and read (files under the data root).</summary>
public sealed class RunSpecCapsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("regatta-caps-");
    private string Root => Path.Combine(_dir.FullName, "datasets");

    public RunSpecCapsTests() => Directory.CreateDirectory(Root);
    public void Dispose() => _dir.Delete(recursive: true);

    private static RunSpec Mlp(int inputs, int hidden, int classes = 2, int layers = 1) => new()
    {
        Model = new ModelSpec { Name = "mlp", Parameters = new() { ["inputs"] = inputs, ["hidden"] = hidden, ["classes"] = classes, ["layers"] = layers } },
        Data = new DataSpec { Source = "blobs", SamplesPerClient = 100, Partitions = 2, ValidationSamples = 100 },
    };

    private CoordinatorOptions Options(long parameters = 50_000_000, long sampleFeatures = 200_000_000) =>
        new() { DataDir = _dir.FullName, MaxModelParameters = parameters, MaxSampleFeatures = sampleFeatures };

    [Theory]
    [InlineData("mlp", "inputs=4,hidden=8,classes=3,layers=1")]
    [InlineData("mlp", "inputs=4,hidden=8,classes=3,layers=0")]
    [InlineData("mlp", "inputs=5,hidden=7,classes=3,layers=3")]
    [InlineData("cnn", "channels=2,size=8,classes=4,filters=3")]
    [InlineData("transformer", "vocab=11,width=8,heads=2,blocks=2,context=5")]
    public void The_parameter_count_is_the_built_modules(string name, string parameters)
    {
        var spec = new ModelSpec
        {
            Name = name,
            Parameters = parameters.Split(',').Select(p => p.Split('=')).ToDictionary(p => p[0], p => int.Parse(p[1])),
        };
        using var module = ModelCatalog.Create(spec, seed: 1);

        Assert.Equal(module.parameters().Sum(p => p.numel()), ModelCatalog.Describe(spec).ParameterCount);
    }

    [Fact]
    public void A_model_over_the_parameter_cap_is_refused_naming_the_field_and_the_limit()
    {
        // 10000 × 10000 hidden weights alone: 100M parameters, over the 50M default.
        var errors = RunSpecValidator.Validate(Mlp(10_000, 10_000), Options());

        var error = Assert.Single(errors);
        Assert.StartsWith("model.parameters: ", error);
        Assert.Contains("100,030,002 parameters", error);
        Assert.Contains("limit of 50,000,000 (Regatta:MaxModelParameters)", error);
        Assert.Empty(RunSpecValidator.Validate(Mlp(10_000, 10_000), Options(parameters: 200_000_000)));
        Assert.Empty(RunSpecValidator.Validate(Mlp(4, 8), Options()));
    }

    [Fact]
    public void Data_over_the_sample_feature_cap_is_refused_naming_the_field_and_the_limit()
    {
        // (1M × 100 + 1000) samples × 4 features = 400M sample-features, over the 200M default.
        var spec = Mlp(4, 8) with { Data = new DataSpec { Source = "blobs", SamplesPerClient = 1_000_000, Partitions = 100, ValidationSamples = 1000 } };

        var error = Assert.Single(RunSpecValidator.Validate(spec, Options()));
        Assert.StartsWith("data.samplesPerClient: 100,001,000 samples × 4 features = 400,004,000", error);
        Assert.Contains("limit of 200,000,000 (Regatta:MaxSampleFeatures)", error);
        Assert.Empty(RunSpecValidator.Validate(spec, Options(sampleFeatures: 500_000_000)));
    }

    [Fact]
    public void The_data_root_defaults_to_datasets_under_the_data_dir()
    {
        Assert.Equal(Root, Options().DataRootPath);
        Assert.Equal(Path.GetFullPath("/srv/data"), new CoordinatorOptions { DataRoot = "/srv/data" }.DataRootPath);
    }

    [Fact]
    public void File_sources_under_the_data_root_are_accepted_relative_or_absolute()
    {
        File.WriteAllText(Path.Combine(Root, "train.csv"), "a,b,label\n");
        Directory.CreateDirectory(Path.Combine(Root, "mnist"));

        Assert.Empty(DataFiles.Check(new DataSpec { Source = "csv:train.csv" }, Root));
        Assert.Empty(DataFiles.Check(new DataSpec { Source = $"csv:{Path.Combine(Root, "train.csv")}" }, Root));
        Assert.Empty(DataFiles.Check(new DataSpec { Source = "idx:mnist/images,mnist/labels" }, Root));
        Assert.Empty(DataFiles.Check(new DataSpec { Source = "csv:mnist/../train.csv" }, Root)); // climbs, but stays inside
        Assert.Empty(DataFiles.Check(new DataSpec { Source = "blobs" }, Root));
        Assert.Equal($"csv:{Path.Combine(Root, "train.csv")}", DataFiles.ForSilo(new DataSpec { Source = "csv:train.csv" }, Root).Source);
    }

    [Theory]
    [InlineData("csv:/etc/passwd")]
    [InlineData("csv:../secret.csv")]
    [InlineData("text:sub/../../secret.csv")]
    [InlineData("idx:images,../labels")]
    [InlineData("csv:.")]
    public void File_sources_outside_the_data_root_are_refused(string source)
    {
        var spec = Mlp(4, 8) with { Data = new DataSpec { Source = source, Partitions = 2, ValidationSamples = 100 } };

        var error = Assert.Single(RunSpecValidator.Validate(spec, Options()));
        Assert.StartsWith("data.source: '", error);
        Assert.Contains($"is outside the data root {Root} (Regatta:DataRoot)", error);
        Assert.Throws<RegattaException>(() => DataFiles.ForSilo(spec.Data, Root));
    }

    [Fact]
    public void A_symbolic_link_out_of_the_data_root_is_refused_and_one_inside_it_is_not()
    {
        var outside = Directory.CreateDirectory(Path.Combine(_dir.FullName, "outside")).FullName;
        File.WriteAllText(Path.Combine(outside, "secret.csv"), "x\n");
        File.WriteAllText(Path.Combine(Root, "real.csv"), "x\n");
        File.CreateSymbolicLink(Path.Combine(Root, "file-link.csv"), Path.Combine(outside, "secret.csv"));
        Directory.CreateSymbolicLink(Path.Combine(Root, "dir-link"), outside);
        File.CreateSymbolicLink(Path.Combine(Root, "relative-link.csv"), "../outside/secret.csv");
        File.CreateSymbolicLink(Path.Combine(Root, "inside-link.csv"), "real.csv");

        foreach (var path in new[] { "file-link.csv", "dir-link/secret.csv", "relative-link.csv" })
        {
            var error = Assert.Single(DataFiles.Check(new DataSpec { Source = "csv:" + path }, Root));
            Assert.Contains($"leads through a symbolic link to {Path.Combine(outside, "secret.csv")}, outside the data root", error);
        }
        Assert.Empty(DataFiles.Check(new DataSpec { Source = "csv:inside-link.csv" }, Root));
    }
}
