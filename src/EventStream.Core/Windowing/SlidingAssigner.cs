namespace EventStream.Windowing;

/// <summary>Tumbling (slide = size) and sliding windows, aggregated per slice of gcd(size, slide).</summary>
internal sealed class SlidingAssigner : WindowAssigner
{
    public SlidingAssigner(long size, long slide, string kind)
    {
        Size = size;
        Slide = slide;
        Kind = kind;
        Pane = Gcd(size, slide);
    }

    public long Size { get; }

    public long Slide { get; }

    public long Pane { get; }

    public string Kind { get; }

    /// <summary>Start of the last window that holds <paramref name="t"/>.</summary>
    public long LastStart(long t) => FloorTo(t, Slide);

    /// <summary>Start of the first window that holds <paramref name="t"/>.</summary>
    public long FirstStart(long t) => FloorTo(t - Size, Slide) + Slide;

    public long PaneStart(long t) => FloorTo(t, Pane);

    public override string ToString() => Kind == "tumbling" ? $"tumbling({Size} ms)" : $"sliding({Size} ms, {Slide} ms)";

    internal static long FloorTo(long t, long unit)
    {
        var r = t % unit;
        return r < 0 ? t - r - unit : t - r;
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
