using System.Buffers.Binary;
using Regatta.Learning.Data;
using Regatta.Runs;
using static TorchSharp.torch;

namespace Regatta.Tests;

public sealed class FileLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("regatta-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static DataSpec Spec(string source) => new() { Source = source, Partitions = 2, HoldOut = 0.25, ValidationSamples = 4 };

    [Fact]
    public void Csv_rows_become_features_and_the_last_column_the_label()
    {
        var rows = string.Join('\n', Enumerable.Range(0, 20).Select(i => $"{i},{i * 0.5},{-i},{i % 3}"));
        var path = Write("data.csv", "a,b,c,label\n" + rows + "\n");
        var spec = Spec("csv:" + path);

        using var validation = DataCatalog.ValidationSet(spec, 1);
        var (train, held) = DataCatalog.Partition(spec, 0, 1);
        var (train1, held1) = DataCatalog.Partition(spec, 1, 1);
        using (train) using (held) using (train1) using (held1)
        {
            Assert.Equal(4, validation.Count);
            Assert.Equal(20, validation.Count + train.Count + held.Count + train1.Count + held1.Count);
            Assert.Equal([train.Count, 3], train.Features.shape);
            Assert.Equal(3, train.Classes);
            // Every row keeps its own label: the first column determines it.
            var first = train.Features.select(1, 0).data<float>().ToArray();
            Assert.Equal(first.Select(f => (long)f % 3), train.Labels.data<long>().ToArray());
        }
        using var forModel = DataCatalog.ValidationSet(spec, 1, ModelTests.Mlp(inputs: 3, classes: 4));
        Assert.Equal(4, forModel.Classes);
    }

    [Theory]
    [InlineData("1,2,0\n3,4\n", "line 2: expected 3 columns, got 2")]
    [InlineData("1,2,0\n3,x,1\n", "line 2, column 2: not a finite number")]
    [InlineData("1,2,0\n3,4,1.5\n", "line 2, column 3: the label is not a class number")]
    [InlineData("1\n", "need at least 2 columns")]
    [InlineData("a,b\n", "no data rows")]
    public void Bad_csv_is_refused_with_the_place_of_the_problem(string text, string expected)
    {
        var path = Write("bad.csv", text);
        var error = Assert.Throws<InvalidDataException>(() => DataCatalog.ValidationSet(Spec("csv:" + path), 1));
        Assert.Contains(expected, error.Message);
        Assert.StartsWith("data.source:", error.Message);
    }

    [Fact]
    public void Csv_whose_width_does_not_fit_the_model_is_refused()
    {
        var path = Write("narrow.csv", string.Join('\n', Enumerable.Range(0, 20).Select(i => $"{i},{i % 2}")));
        var error = Assert.Throws<InvalidDataException>(() => DataCatalog.ValidationSet(Spec("csv:" + path), 1, ModelTests.Mlp(inputs: 3)));
        Assert.Contains("examples have 1 values", error.Message);
    }

    [Fact]
    public void Missing_files_are_named()
    {
        var path = Path.Combine(_dir, "absent.csv");
        var error = Assert.Throws<FileNotFoundException>(() => DataCatalog.ValidationSet(Spec("csv:" + path), 1));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Idx_images_and_labels_load_as_scaled_images()
    {
        var (images, labels) = WriteIdx(count: 12, rows: 4, cols: 4);
        var spec = Spec($"idx:{images},{labels}");

        using var validation = DataCatalog.ValidationSet(spec, 1);
        Assert.Equal([4L, 1, 4, 4], validation.Features.shape);
        Assert.InRange(validation.Features.max().item<float>(), 0f, 1f);
        // Pixel (0,0) of image i was written as i, its label as i % 10.
        var ids = (validation.Features[.., 0, 0, 0] * 255).round().to(int64).data<long>().ToArray();
        Assert.Equal(ids.Select(i => i % 10), validation.Labels.data<long>().ToArray());

        using var flat = DataCatalog.ValidationSet(spec, 1, ModelTests.Mlp(inputs: 16, classes: 10));
        Assert.Equal([4L, 16], flat.Features.shape);
    }

    [Fact]
    public void Bad_idx_files_are_refused()
    {
        var (images, labels) = WriteIdx(count: 12, rows: 4, cols: 4);
        Assert.Contains("bad magic", Assert.Throws<InvalidDataException>(() => DataCatalog.ValidationSet(Spec($"idx:{Write("bogus", new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 })},{labels}"), 1)).Message);
        Assert.Contains("IDX rank 1, expected 3", Assert.Throws<InvalidDataException>(() => DataCatalog.ValidationSet(Spec($"idx:{labels},{labels}"), 1)).Message);

        var (_, fewer) = WriteIdx(count: 10, rows: 4, cols: 4, prefix: "few");
        Assert.Contains("holds 10 labels but", Assert.Throws<InvalidDataException>(() => DataCatalog.ValidationSet(Spec($"idx:{images},{fewer}"), 1)).Message);

        var truncated = Write("truncated-images", File.ReadAllBytes(images)[..^5]);
        Assert.Contains("does not match 12×4×4 images", Assert.Throws<InvalidDataException>(() => DataCatalog.ValidationSet(Spec($"idx:{truncated},{labels}"), 1)).Message);
    }

    [Fact]
    public void Text_becomes_next_character_windows()
    {
        var path = Write("corpus.txt", string.Concat(Enumerable.Repeat("abcab ", 40)));
        var spec = Spec("text:" + path);
        var model = ModelTests.Transformer(context: 5);

        using var validation = DataCatalog.ValidationSet(spec, 1, model);
        Assert.Equal([4L, 5], validation.Features.shape);
        Assert.Equal(DatasetKind.LanguageModel, validation.Kind);
        // Vocabulary in ordinal order: ' ' = 0, a = 1, b = 2, c = 3; every window is "abcab " → shifted by one.
        Assert.Equal([1L, 2, 3, 1, 2], validation.Features[0].data<long>().ToArray());
        Assert.Equal([2L, 3, 1, 2, 0], validation.Labels[0].data<long>().ToArray());

        var tooShort = Write("short.txt", "abc");
        Assert.Contains("fewer than one window", Assert.Throws<InvalidDataException>(() => DataCatalog.ValidationSet(Spec("text:" + tooShort), 1, model)).Message);
        var wide = Write("wide.txt", new string(Enumerable.Range(0, 40).Select(i => (char)('A' + i)).ToArray()) + new string('x', 200));
        Assert.Contains("41 distinct characters but the model's vocabulary holds 28",
            Assert.Throws<InvalidDataException>(() => DataCatalog.ValidationSet(Spec("text:" + wide), 1, model)).Message);
    }

    private (string Images, string Labels) WriteIdx(int count, int rows, int cols, string prefix = "")
    {
        var images = new byte[16 + count * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(images, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), cols);
        var labels = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(labels, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), count);
        for (var i = 0; i < count; i++)
        {
            images[16 + i * rows * cols] = (byte)i;
            images[16 + i * rows * cols + 1] = 200;
            labels[8 + i] = (byte)(i % 10);
        }
        return (Write(prefix + "images-idx3-ubyte", images), Write(prefix + "labels-idx1-ubyte", labels));
    }
}
