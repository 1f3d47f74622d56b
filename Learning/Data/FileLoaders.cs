using System.Buffers.Binary;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Learning.Data;

/// <summary>
/// Loaders for user-supplied files. Their contents are untrusted input: every problem becomes an
/// <see cref="InvalidDataException"/> (or <see cref="FileNotFoundException"/>) that says which file and where.
/// Messages never quote file contents: they travel to the coordinator, and the file may not be data at all.
/// </summary>
internal static class FileLoaders
{
    private const int MaxColumns = 1 << 16;
    private const long MaxFileBytes = 1L << 30;
    private const long MaxClasses = 1 << 20;

    /// <summary>Comma-separated numbers, the last column an integer class label; an optional header line is skipped.</summary>
    public static Dataset Csv(string path)
    {
        var features = new List<float>();
        var labels = new List<long>();
        var columns = 0;
        var lineNumber = 0;
        foreach (var line in File.ReadLines(Existing(path)))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var fields = line.Split(',');
            if (columns == 0)
            {
                if (fields.Length < 2 || fields.Length > MaxColumns)
                    throw Bad(path, $"line {lineNumber}: need at least 2 columns (features, then label), got {fields.Length}");
                columns = fields.Length;
                if (!fields.All(f => float.TryParse(f, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
                    continue; // a header
            }
            if (fields.Length != columns)
                throw Bad(path, $"line {lineNumber}: expected {columns} columns, got {fields.Length}");
            for (var c = 0; c < columns - 1; c++)
            {
                if (!float.TryParse(fields[c], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !float.IsFinite(value))
                    throw Bad(path, $"line {lineNumber}, column {c + 1}: not a finite number");
                features.Add(value);
            }
            if (!long.TryParse(fields[^1].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var label) || label < 0 || label >= MaxClasses)
                throw Bad(path, $"line {lineNumber}, column {columns}: the label is not a class number (0, 1, 2, ...)");
            labels.Add(label);
        }
        if (labels.Count == 0) throw Bad(path, "no data rows");
        using var scope = NewDisposeScope();
        return new Dataset(
            tensor(features.ToArray()).reshape(labels.Count, columns - 1),
            tensor(labels.ToArray(), int64),
            DatasetKind.Classification,
            (int)labels.Max() + 1);
    }

    /// <summary>MNIST IDX: an unsigned-byte image file (magic 0x803: count, rows, cols) and a label file (0x801: count), big-endian.</summary>
    public static Dataset Idx(string imagesPath, string labelsPath)
    {
        var images = File.ReadAllBytes(Existing(imagesPath));
        var labels = File.ReadAllBytes(Existing(labelsPath));
        var imageDims = IdxHeader(imagesPath, images, expectedRank: 3);
        var labelDims = IdxHeader(labelsPath, labels, expectedRank: 1);
        var (count, rows, cols) = (imageDims[0], imageDims[1], imageDims[2]);
        if (labelDims[0] != count)
            throw Bad(labelsPath, $"holds {labelDims[0]} labels but '{imagesPath}' holds {count} images");
        if (count == 0 || rows == 0 || cols == 0) throw Bad(imagesPath, "no images");
        var header = 4 + 4 * 3;
        if (images.LongLength != header + (long)count * rows * cols)
            throw Bad(imagesPath, $"size {images.LongLength} bytes does not match {count}×{rows}×{cols} images");
        if (labels.LongLength != 8 + (long)count)
            throw Bad(labelsPath, $"size {labels.LongLength} bytes does not match {count} labels");

        using var scope = NewDisposeScope();
        var pixels = tensor(images.AsSpan(header).ToArray(), uint8).reshape(count, 1, rows, cols).to(float32) / 255f;
        var classes = labels.AsSpan(8).ToArray();
        return new Dataset(pixels, tensor(classes, uint8).to(int64), DatasetKind.Classification, classes.Max() + 1);
    }

    /// <summary>UTF-8 text as a character language model; the vocabulary is the file's distinct characters in ordinal order.</summary>
    public static Dataset Text(string path, int context, int maxVocab)
    {
        var text = File.ReadAllText(Existing(path));
        var alphabet = text.Distinct().Order().ToArray();
        if (alphabet.Length > maxVocab)
            throw Bad(path, $"has {alphabet.Length} distinct characters but the model's vocabulary holds {maxVocab}");
        var count = text.Length / (context + 1);
        if (count == 0)
            throw Bad(path, $"has {text.Length} characters, fewer than one window of {context + 1}");
        var ids = alphabet.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (long)p.i);
        var tokens = text.Select(c => ids[c]).ToArray();
        return Chars.Windows(tokens, count, context, maxVocab);
    }

    private static int[] IdxHeader(string path, byte[] bytes, int expectedRank)
    {
        // Magic: two zero bytes, type 0x08 (unsigned byte), rank.
        if (bytes.Length < 4 + 4 * expectedRank || bytes[0] != 0 || bytes[1] != 0)
            throw Bad(path, "not an IDX file (bad magic)");
        if (bytes[2] != 0x08)
            throw Bad(path, $"IDX element type 0x{bytes[2]:x2} is not supported (only unsigned bytes, 0x08)");
        if (bytes[3] != expectedRank)
            throw Bad(path, $"IDX rank {bytes[3]}, expected {expectedRank} ({(expectedRank == 3 ? "images" : "labels")})");
        var dims = new int[expectedRank];
        for (var i = 0; i < expectedRank; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * i));
            if (dims[i] < 0) throw Bad(path, $"negative IDX dimension {dims[i]}");
        }
        return dims;
    }

    /// <summary>The path of an existing file of a loadable size.</summary>
    private static string Existing(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists) throw new FileNotFoundException($"data.source: file not found: '{path}'", path);
        if (file.Length > MaxFileBytes) throw Bad(path, $"is {file.Length >> 20} MiB; files over {MaxFileBytes >> 20} MiB are not supported");
        return path;
    }

    private static InvalidDataException Bad(string path, string problem) => new($"data.source: '{path}' {problem}");
}
