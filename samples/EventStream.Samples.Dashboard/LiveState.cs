using EventStream.Windowing;

namespace EventStream.Samples.Dashboard;

/// <summary>The live figures the page shows, kept from the window results as they fire.</summary>
public sealed class LiveState(TimeProvider time)
{
    private const double SpikeFactor = 3.0;
    private const long SpikeMinimum = 20;
    private readonly object _lock = new();
    private readonly Dictionary<string, (long End, SiteFigures Figures)> _sites = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long End, string Site, string Url, long Views)> _pages = new(StringComparer.Ordinal);
    private readonly LinkedList<Alert> _alerts = new();
    private readonly Dictionary<string, long> _lastAlert = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _firstSecond = new(StringComparer.Ordinal);
    private long _newestEnd = long.MinValue;

    /// <summary>Takes one window result (the sink of the pipeline).</summary>
    public void Update(WindowResult<string, WindowStats> result)
    {
        var stats = result.Value;
        lock (_lock)
        {
            _newestEnd = Math.Max(_newestEnd, result.End);
            var parts = result.Key.Split('|', 3);
            if (parts[0] == "site")
            {
                var site = parts[1];
                if (_sites.TryGetValue(site, out var current) && current.End > result.End)
                {
                    return;
                }

                // The newest second of this window ends at End − 1: events in it form the current rate; the seconds before
                // it in the window (up to 299, fewer while the site is new) are the baseline.
                var newestSecond = (result.End / 1000) - 1;
                var newest = stats.NewestSecond == newestSecond ? stats.NewestSecondCount : 0;
                var first = _firstSecond.TryGetValue(site, out var known) ? known : _firstSecond[site] = newestSecond;
                var seconds = Math.Min(((result.End - result.Start) / 1000) - 1, newestSecond - first);
                var baseline = seconds > 0 ? (stats.Count - newest) / (double)seconds : 0;
                _sites[site] = (result.End, new SiteFigures(site, stats.Users.Count, newest, Math.Round(baseline, 2)));
                var warmedUp = seconds >= 10;
                if (warmedUp && newest >= SpikeMinimum && newest > SpikeFactor * Math.Max(baseline, 1) && _lastAlert.GetValueOrDefault(site, long.MinValue) < result.End - 10_000)
                {
                    _lastAlert[site] = result.End;
                    _alerts.AddFirst(new Alert(site, time.GetUtcNow().ToUnixTimeMilliseconds(), newest, Math.Round(baseline, 2), $"{site}: {newest} events/s, {newest / Math.Max(baseline, 1):0.0}× its baseline of {baseline:0.0}/s"));
                    while (_alerts.Count > 10)
                    {
                        _alerts.RemoveLast();
                    }
                }
            }
            else if (parts.Length == 3)
            {
                if (!_pages.TryGetValue(result.Key, out var current) || current.End <= result.End)
                {
                    _pages[result.Key] = (result.End, parts[1], parts[2], stats.Count);
                }
            }
        }
    }

    /// <summary>The figures now: only windows ending at the newest end count (older ones are of keys gone quiet).</summary>
    public LiveSnapshot Snapshot(double eventsPerSecond, long accepted, long deadLetters, long late, bool fault)
    {
        lock (_lock)
        {
            var fresh = _newestEnd - 1000;
            var sites = _sites.Values.Where(s => s.End >= fresh).Select(s => s.Figures).OrderBy(s => s.Site, StringComparer.Ordinal).ToList();
            var pages = _pages.Values.Where(p => p.End >= fresh)
                .OrderByDescending(p => p.Views).ThenBy(p => p.Url, StringComparer.Ordinal).Take(10)
                .Select(p => new PageFigures(p.Site, p.Url, p.Views)).ToList();
            foreach (var stale in _pages.Where(p => p.Value.End < _newestEnd - 600_000).Select(p => p.Key).ToList())
            {
                _pages.Remove(stale);
            }

            return new LiveSnapshot(
                time.GetUtcNow().ToUnixTimeMilliseconds(),
                sites.Sum(s => s.UsersOnline),
                sites,
                pages,
                [.. _alerts],
                Math.Round(eventsPerSecond, 1),
                accepted,
                deadLetters,
                late,
                fault);
        }
    }
}

public sealed record SiteFigures(string Site, long UsersOnline, long EventsPerSecond, double BaselinePerSecond);

public sealed record PageFigures(string Site, string Url, long Views);

public sealed record Alert(string Site, long At, long Rate, double Baseline, string Message);

public sealed record LiveSnapshot(long Time, long UsersOnline, IReadOnlyList<SiteFigures> Sites, IReadOnlyList<PageFigures> TopPages, IReadOnlyList<Alert> Alerts, double EventsPerSecond, long Accepted, long DeadLetters, long Late, bool Fault);
