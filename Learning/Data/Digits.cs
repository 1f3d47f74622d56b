using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Learning.Data;

/// <summary>
/// Synthetic digit images (1×size×size, 10 classes): seven-segment strokes, shifted by a pixel or two,
/// with random contrast and Gaussian noise. Distinct enough for a small CNN, noisy enough not to be trivial.
/// </summary>
internal static class Digits
{
    public const int Classes = 10;

    // Segments in unit coordinates (x right, y down): a top, b top right, c bottom right, d bottom, e bottom left, f top left, g middle.
    private static readonly Dictionary<char, (double X0, double Y0, double X1, double Y1)> Segments = new()
    {
        ['a'] = (0.25, 0.15, 0.75, 0.15), ['b'] = (0.75, 0.15, 0.75, 0.5), ['c'] = (0.75, 0.5, 0.75, 0.85),
        ['d'] = (0.25, 0.85, 0.75, 0.85), ['e'] = (0.25, 0.5, 0.25, 0.85), ['f'] = (0.25, 0.15, 0.25, 0.5),
        ['g'] = (0.25, 0.5, 0.75, 0.5),
    };

    private static readonly string[] Glyphs = ["abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg"];

    public static Dataset Generate(int count, int size, long seed, string stream)
    {
        using var scope = NewDisposeScope();
        var shift = Math.Max(1, size / 14);
        var templates = ShiftedTemplates(size, shift);
        var variants = templates.shape[1];
        using var generator = Seeds.Generator(seed, "digits." + stream);
        var labels = (arange(count, dtype: int64) % Classes).index_select(0, randperm(count, generator: generator));
        var variant = randint(0, variants, [count], dtype: int64, generator: generator);
        var images = templates.reshape(Classes * variants, size, size).index_select(0, labels * variants + variant);
        var contrast = rand([count, 1, 1], generator: generator) * 0.3 + 0.7;
        var noisy = images * contrast + randn([count, size, size], generator: generator) * 0.15;
        return new Dataset(noisy.unsqueeze(1), labels, DatasetKind.Classification, Classes);
    }

    /// <summary>[10, (2·shift+1)², size, size]: every glyph at every offset within ±shift pixels.</summary>
    private static Tensor ShiftedTemplates(int size, int shift)
    {
        var glyphs = stack(Glyphs.Select(g => Render(g, size)).ToArray());
        var shifted = new List<Tensor>();
        for (var dy = -shift; dy <= shift; dy++)
            for (var dx = -shift; dx <= shift; dx++)
                shifted.Add(glyphs.roll([dy, dx], [1, 2]));
        return stack(shifted, 1);
    }

    private static Tensor Render(string glyph, int size)
    {
        var pixels = new float[size * size];
        var thickness = Math.Max(0, size / 14 - 1);
        foreach (var (x0, y0, x1, y1) in glyph.Select(s => Segments[s]))
        {
            for (var i = 0; i <= 4 * size; i++)
            {
                var t = i / (4.0 * size);
                var (cx, cy) = ((int)((x0 + t * (x1 - x0)) * size), (int)((y0 + t * (y1 - y0)) * size));
                for (var y = cy - thickness; y <= cy + thickness; y++)
                    for (var x = cx - thickness; x <= cx + thickness; x++)
                        if (x >= 0 && x < size && y >= 0 && y < size)
                            pixels[y * size + x] = 1;
            }
        }
        return tensor(pixels).reshape(size, size);
    }
}
