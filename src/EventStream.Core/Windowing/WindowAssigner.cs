using EventStream.Windowing;
namespace EventStream;

/// <summary>
/// Which windows an event belongs to, by its timestamp (epoch milliseconds). The semantics follow Apache Flink:
/// tumbling windows <c>[floor(t/size)·size, +size)</c>; sliding windows every <c>[k·slide, k·slide + size)</c> that
/// holds <c>t</c>; session windows <c>[t, t + gap)</c> per key, merged with every window of the key they touch.
/// </summary>
public abstract class WindowAssigner
{
    /// <summary>The earliest timestamp a window stage accepts: −2^62 ms (window arithmetic stays far from overflow).</summary>
    public const long MinTimestamp = -(1L << 62);

    /// <summary>The latest timestamp a window stage accepts: 2^62 ms, about 146 million years after 1970.</summary>
    public const long MaxTimestamp = 1L << 62;

    private protected WindowAssigner()
    {
    }

    /// <summary>Fixed, non-overlapping windows of <paramref name="size"/>.</summary>
    /// <param name="size">The window size (at least 1 ms).</param>
    /// <returns>The assigner.</returns>
    public static WindowAssigner Tumbling(TimeSpan size) => new SlidingAssigner(Millis(size, nameof(size)), Millis(size, nameof(size)), "tumbling");

    /// <summary>Windows of <paramref name="size"/> starting every <paramref name="slide"/>. Overlapping windows share partial aggregates (slices), so an event costs one update whatever size/slide is.</summary>
    /// <param name="size">The window size (at least 1 ms).</param>
    /// <param name="slide">How often a window starts (at least 1 ms, at most the size).</param>
    /// <returns>The assigner.</returns>
    public static WindowAssigner Sliding(TimeSpan size, TimeSpan slide)
    {
        var s = Millis(size, nameof(size));
        var d = Millis(slide, nameof(slide));
        if (d > s)
        {
            throw new ArgumentOutOfRangeException(nameof(slide), slide, $"The slide ({slide}) must not be longer than the window size ({size}).");
        }

        return new SlidingAssigner(s, d, "sliding");
    }

    /// <summary>Per-key sessions: a window closes after <paramref name="gap"/> without events of its key.</summary>
    /// <param name="gap">The inactivity gap (at least 1 ms).</param>
    /// <returns>The assigner.</returns>
    public static WindowAssigner Session(TimeSpan gap) => new SessionAssigner(Millis(gap, nameof(gap)));

    /// <summary>Describes the assigner, for example <c>sliding(300000 ms, 1000 ms)</c>.</summary>
    /// <returns>The description.</returns>
    public abstract override string ToString();

    private static long Millis(TimeSpan value, string name)
    {
        if (value < TimeSpan.FromMilliseconds(1) || value.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            throw new ArgumentOutOfRangeException(name, value, "Window durations must be whole milliseconds, at least 1 ms.");
        }

        return (long)value.TotalMilliseconds;
    }
}
