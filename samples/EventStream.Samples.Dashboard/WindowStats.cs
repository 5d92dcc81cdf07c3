using System.Text.Json.Serialization;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// What one sliding window holds for a key: events, distinct users, and the events of its newest second (a spike
/// shows there before it moves the 5-minute baseline). Merging keeps the newest second's count.
/// </summary>
/// <remarks>
/// The accumulator of the window stage. With <c>--redis</c> it is window state that another instance may restore, so it
/// round-trips through System.Text.Json: every member is written and read back (<see cref="JsonIncludeAttribute"/>).
/// </remarks>
public sealed class WindowStats
{
    [JsonInclude]
    public long Count { get; private set; }

    [JsonInclude]
    public DistinctCounter Users { get; private set; } = new();

    [JsonInclude]
    public long NewestSecond { get; private set; } = long.MinValue;

    [JsonInclude]
    public long NewestSecondCount { get; private set; }

    public static IAggregator<Keyed, WindowStats, WindowFigures> Aggregate { get; } = EventStream.Aggregates.Create<Keyed, WindowStats, WindowFigures>(
        () => new WindowStats(),
        (stats, item) =>
        {
            stats.Count++;
            stats.Users.Add(item.Event.User);
            stats.AddSecond(Math.DivRem(item.Event.Timestamp, 1000).Quotient, 1);
            return stats;
        },
        (into, other) =>
        {
            into.Count += other.Count;
            into.Users.Merge(other.Users);
            into.AddSecond(other.NewestSecond, other.NewestSecondCount);
            return into;
        },
        stats => new WindowFigures(stats.Count, stats.Users.Count, stats.NewestSecond, stats.NewestSecondCount));

    private void AddSecond(long second, long count)
    {
        if (second > NewestSecond)
        {
            NewestSecond = second;
            NewestSecondCount = count;
        }
        else if (second == NewestSecond)
        {
            NewestSecondCount += count;
        }
    }
}

/// <summary>
/// The result of one window firing: its events, distinct users, and the newest second with its events. A plain record,
/// so that with <c>--redis</c> every instance reads it back from the committed results (JSON) as it was fired.
/// </summary>
public sealed record WindowFigures(long Count, long Users, long NewestSecond, long NewestSecondCount);

/// <summary>An event under one of the keys the window stage groups by.</summary>
public sealed record Keyed(FigureKey Key, SiteEvent Event);

/// <summary>A key of the window stage: a whole site (<see cref="Url"/> null) or one page of a site.</summary>
public readonly record struct FigureKey(string Site, string? Url);
