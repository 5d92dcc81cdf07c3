using EventStream.Aggregates;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// What one sliding window holds for a key: events, distinct users, and the events of its newest second (a spike
/// shows there before it moves the 5-minute baseline). Merging keeps the newest second's count.
/// </summary>
public sealed class WindowStats
{
    public long Count { get; private set; }

    public DistinctCounter Users { get; } = new();

    public long NewestSecond { get; private set; } = long.MinValue;

    public long NewestSecondCount { get; private set; }

    public static IAggregator<Keyed, WindowStats, WindowStats> Aggregate { get; } = EventStream.Aggregates.Aggregate.Create<Keyed, WindowStats, WindowStats>(
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
        stats => stats);

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

/// <summary>An event under one of the keys the window stage groups by.</summary>
public sealed record Keyed(FigureKey Key, SiteEvent Event);

/// <summary>A key of the window stage: a whole site (<see cref="Url"/> null) or one page of a site.</summary>
public readonly record struct FigureKey(string Site, string? Url);
