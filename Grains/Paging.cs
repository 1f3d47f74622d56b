using Regatta.Runs;

namespace Regatta.Grains;

public static class Paging
{
    public const int MaxTake = 500;

    public static void Check(int skip, int take)
    {
        if (skip < 0) throw new RegattaException("bad_page", "skip must not be negative");
        if (take is < 1 or > MaxTake) throw new RegattaException("bad_page", $"take must be in [1, {MaxTake}]");
    }
}
