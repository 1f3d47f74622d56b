using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Learning.Data;

/// <summary>
/// A character corpus from a tiny grammar ("the small cat sees a red ball."), cut into windows of
/// context+1 tokens. Regular enough that a small transformer's next-token loss falls quickly.
/// </summary>
internal static class Chars
{
    /// <summary>Token i is this string's i-th character.</summary>
    public const string Alphabet = " .abcdefghijklmnopqrstuvwxyz";

    private static readonly string[] Determiners = ["the", "a", "one", "every"];
    private static readonly string[] Adjectives = ["small", "red", "quick", "old", "happy", "green"];
    private static readonly string[] Nouns = ["cat", "dog", "bird", "ball", "tree", "boat", "fox", "king"];
    private static readonly string[] Verbs = ["sees", "likes", "finds", "jumps over", "runs to", "owns"];

    public static Dataset Generate(int count, int context, long seed, string stream)
    {
        using var scope = NewDisposeScope();
        using var generator = Seeds.Generator(seed, "chars." + stream);
        var length = (long)count * (context + 1);
        var text = new System.Text.StringBuilder();
        while (text.Length < length)
        {
            // One batch of choices per sentence keeps the torch calls few.
            var pick = randint(0, 1 << 20, [6], dtype: int64, generator: generator).data<long>().ToArray();
            text.Append(Determiners[pick[0] % Determiners.Length]).Append(' ');
            if (pick[1] % 2 == 0) text.Append(Adjectives[pick[2] % Adjectives.Length]).Append(' ');
            text.Append(Nouns[pick[3] % Nouns.Length]).Append(' ').Append(Verbs[pick[4] % Verbs.Length]).Append(' ');
            text.Append(Determiners[pick[5] % Determiners.Length]).Append(' ').Append(Nouns[(pick[5] >> 8) % Nouns.Length]).Append(". ");
        }
        var tokens = new long[length];
        for (var i = 0; i < length; i++) tokens[i] = Alphabet.IndexOf(text[i]);
        return Windows(tokens, count, context, Alphabet.Length);
    }

    /// <summary>Non-overlapping windows: features are tokens [0, context), labels the same shifted by one.</summary>
    public static Dataset Windows(long[] tokens, int count, int context, int vocab)
    {
        using var scope = NewDisposeScope();
        var windows = tensor(tokens.AsSpan(0, count * (context + 1)).ToArray(), int64).reshape(count, context + 1);
        return new Dataset(windows[.., ..context].contiguous(), windows[.., 1..].contiguous(), DatasetKind.LanguageModel, vocab);
    }
}
