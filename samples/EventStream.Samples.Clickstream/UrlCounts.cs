using System.Collections.Concurrent;

namespace EventStream.Samples.Clickstream;

/// <summary>
/// The "counts" sink's state: page views per URL per one-minute bucket of event time. The sink writes, the dashboard
/// reads at the same time, hence the concurrent dictionary. (Proper event-time windows are a library feature of their
/// own; this is deliberately just a dictionary.)
/// </summary>
internal sealed class UrlCounts
{
    private readonly ConcurrentDictionary<(string Url, long Minute), long> _counts = new();

    public void Add(PageView view) =>
        _counts.AddOrUpdate((view.Url, view.Timestamp / 60_000), 1, static (_, n) => n + 1);

    /// <summary>Gets the sum of all counts: it must equal the pipeline's delivered count.</summary>
    public long Total => _counts.Sum(pair => pair.Value);

    /// <summary>The <paramref name="count"/> most viewed URLs, with their counts in the last (up to) three minutes.</summary>
    public TopUrls Top(int count)
    {
        var snapshot = _counts.ToArray();
        long[] minutes = [.. snapshot.Select(p => p.Key.Minute).Distinct().Order().TakeLast(3)];
        var rows = snapshot
            .GroupBy(p => p.Key.Url)
            .Select(g => new UrlRow(
                g.Key,
                g.Sum(p => p.Value),
                [.. minutes.Select(m => g.Where(p => p.Key.Minute == m).Sum(p => p.Value))]))
            .OrderByDescending(r => r.Total)
            .ThenBy(r => r.Url, StringComparer.Ordinal)
            .Take(count)
            .ToList();
        return new TopUrls(minutes, rows);
    }
}

/// <param name="Minutes">The minute buckets shown, oldest first, as minutes since the Unix epoch.</param>
internal sealed record TopUrls(IReadOnlyList<long> Minutes, IReadOnlyList<UrlRow> Rows);

/// <param name="PerMinute">The counts in each of <see cref="TopUrls.Minutes"/>.</param>
internal sealed record UrlRow(string Url, long Total, IReadOnlyList<long> PerMinute);
