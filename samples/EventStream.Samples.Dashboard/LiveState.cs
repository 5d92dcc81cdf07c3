
namespace EventStream.Samples.Dashboard;

/// <summary>The live figures the page shows, kept from the window results as they fire.</summary>
/// <param name="time">The clock.</param>
/// <param name="freshForMs">
/// How far behind the newest window end a key's newest window may end and still count as current (the default, 1 s:
/// in one process every key's windows fire together). With <c>--redis</c> the results of different partitions are
/// committed by different instances at different moments, so a key may trail the newest end by a commit interval or two.
/// </param>
public sealed class LiveState(TimeProvider time, long freshForMs = 1000)
{
    private const double SpikeFactor = 3.0;
    private const long SpikeMinimum = 20;

    /// <summary>Keys whose newest window ended this long before the newest of all are forgotten (their windows are long gone).</summary>
    private const long ForgetAfterMs = 600_000;

    /// <summary>With no window fired for this long (the input has been quiet for 5 minutes), no figure is current any more.</summary>
    private const long QuietAfterMs = 10_000;

    /// <summary>The span the admission rate is measured over.</summary>
    private const long RateWindowMs = 5_000;

    private readonly object _lock = new();
    private readonly Dictionary<string, SiteState> _sites = new(StringComparer.Ordinal);
    private readonly Dictionary<FigureKey, (long End, long Views)> _pages = [];
    private readonly LinkedList<Alert> _alerts = new();
    private readonly Queue<(long At, long Accepted)> _admitted = new();
    private long _newestEnd = long.MinValue;
    private long _prunedAt = long.MinValue;

    /// <summary>Takes one window result (from the sink of the pipeline, or with <c>--redis</c> from the committed results of every partition).</summary>
    public void Update(WindowResult<FigureKey, WindowFigures> result)
    {
        var stats = result.Value;
        lock (_lock)
        {
            _newestEnd = Math.Max(_newestEnd, result.End);
            if (result.Key.Url is null)
            {
                UpdateSite(result.Key.Site, result, stats);
            }
            else if (!_pages.TryGetValue(result.Key, out var current) || current.End <= result.End)
            {
                _pages[result.Key] = (result.End, stats.Count);
            }

            if (_newestEnd - _prunedAt >= 10_000)
            {
                Prune();
            }
        }
    }

    /// <summary>The figures now: only windows ending at the newest end count (older ones are of keys gone quiet).</summary>
    /// <param name="counters">The counters beside the figures; their <see cref="LiveCounters.Accepted"/> is sampled for the admission rate.</param>
    public LiveSnapshot Snapshot(LiveCounters counters)
    {
        lock (_lock)
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var admittedPerSecond = SampleAdmitted(now, counters.Accepted);
            var fresh = now - _newestEnd > QuietAfterMs ? long.MaxValue : _newestEnd - freshForMs;
            var sites = _sites.Values.Where(s => s.End >= fresh).Select(s => s.Figures).OrderBy(s => s.Site, StringComparer.Ordinal).ToList();
            var pages = _pages.Where(p => p.Value.End >= fresh)
                .OrderByDescending(p => p.Value.Views).ThenBy(p => p.Key.Site, StringComparer.Ordinal).ThenBy(p => p.Key.Url, StringComparer.Ordinal).Take(10)
                .Select(p => new PageFigures(p.Key.Site, p.Key.Url!, p.Value.Views)).ToList();
            return new LiveSnapshot(
                now,
                sites.Sum(s => s.UsersOnline),
                sites,
                pages,
                [.. _alerts],
                Math.Round(admittedPerSecond, 1),
                Math.Round(counters.FinishedPerSecond, 1),
                counters.Accepted,
                counters.DeadLetters,
                counters.Late,
                counters.Fault);
        }
    }

    /// <summary>
    /// Events admitted per second over the last <see cref="RateWindowMs"/>: the growth of the admitted counter between
    /// the oldest sample in that span (or the newest before it) and this one; 0 until two samples are apart in time.
    /// </summary>
    private double SampleAdmitted(long now, long accepted)
    {
        _admitted.Enqueue((now, accepted));
        while (_admitted.Count > 2 && _admitted.ElementAt(1).At <= now - RateWindowMs)
        {
            _admitted.Dequeue();
        }

        var (at, from) = _admitted.Peek();
        return now > at ? Math.Max(0, accepted - from) * 1000.0 / (now - at) : 0;
    }

    private void UpdateSite(string site, WindowResult<FigureKey, WindowFigures> result, WindowFigures stats)
    {
        if (!_sites.TryGetValue(site, out var state))
        {
            state = new SiteState { FirstSecond = (result.End / 1000) - 1 };
            _sites[site] = state;
        }
        else if (state.End > result.End)
        {
            return;
        }

        // The newest second of this window ends at End − 1: events in it form the current rate; the seconds before it
        // in the window (up to 299, fewer while the site is new) are the baseline.
        var newestSecond = (result.End / 1000) - 1;
        var newest = stats.NewestSecond == newestSecond ? stats.NewestSecondCount : 0;
        var seconds = Math.Min(((result.End - result.Start) / 1000) - 1, newestSecond - state.FirstSecond);
        var baseline = seconds > 0 ? (stats.Count - newest) / (double)seconds : 0;
        state.End = result.End;
        state.Figures = new SiteFigures(site, stats.Users, newest, Math.Round(baseline, 2));
        var warmedUp = seconds >= 10;
        if (warmedUp && newest >= SpikeMinimum && newest > SpikeFactor * Math.Max(baseline, 1) && state.LastAlert < result.End - 10_000)
        {
            state.LastAlert = result.End;
            _alerts.AddFirst(new Alert(site, time.GetUtcNow().ToUnixTimeMilliseconds(), newest, Math.Round(baseline, 2), $"{site}: {newest} events/s, {newest / Math.Max(baseline, 1):0.0}× its baseline of {baseline:0.0}/s"));
            while (_alerts.Count > 10)
            {
                _alerts.RemoveLast();
            }
        }
    }

    /// <summary>Forgets sites and pages with no window for 10 minutes, so that memory follows the live keys only.</summary>
    private void Prune()
    {
        _prunedAt = _newestEnd;
        var before = _newestEnd - ForgetAfterMs;
        foreach (var (key, page) in _pages)
        {
            if (page.End < before)
            {
                _pages.Remove(key);
            }
        }

        foreach (var (site, state) in _sites)
        {
            if (state.End < before)
            {
                _sites.Remove(site);
            }
        }
    }

    private sealed class SiteState
    {
        public long End { get; set; } = long.MinValue;

        public long FirstSecond { get; init; }

        public long LastAlert { get; set; } = long.MinValue;

        public SiteFigures Figures { get; set; } = null!;
    }
}

public sealed record SiteFigures(string Site, long UsersOnline, long EventsPerSecond, double BaselinePerSecond);

public sealed record PageFigures(string Site, string Url, long Views);

public sealed record Alert(string Site, long At, long Rate, double Baseline, string Message);

/// <summary>One message of the live stream (<c>/api/live</c>), the page's whole state.</summary>
/// <param name="Time">When, epoch milliseconds.</param>
/// <param name="UsersOnline">Distinct users over the last 5 minutes, summed over the sites.</param>
/// <param name="Sites">Each current site's figures.</param>
/// <param name="TopPages">The ten most viewed pages of the last 5 minutes.</param>
/// <param name="Alerts">The latest spike alerts, newest first.</param>
/// <param name="AdmittedPerSecond">Events admitted per second (by the door and the simulator) over the last 5 seconds: the headline figure.</param>
/// <param name="FinishedPerSecond">
/// The pipeline's own throughput (<see cref="PipelineMetrics.ThroughputPerSecond"/>): items its stages finished per
/// second — each event twice after the fan-out (under its site and its page) and every window firing — so it runs at
/// about twice the admission rate or more; not a count of events.
/// </param>
/// <param name="Accepted">Events admitted, ever.</param>
/// <param name="DeadLetters">Dead letters in the store.</param>
/// <param name="Late">Late copies of events (each event is windowed twice).</param>
/// <param name="Fault">Whether the demo fault is on.</param>
public sealed record LiveSnapshot(long Time, long UsersOnline, IReadOnlyList<SiteFigures> Sites, IReadOnlyList<PageFigures> TopPages, IReadOnlyList<Alert> Alerts, double AdmittedPerSecond, double FinishedPerSecond, long Accepted, long DeadLetters, long Late, bool Fault);
