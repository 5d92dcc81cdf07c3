using System.Globalization;
using System.Text.Json;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// The pipeline behind the page, over the library's envelope (<see cref="PipelineEvent"/>): a "geo" stage that reads the
/// page view from the envelope (the stage the demo fault breaks), a fan-out of each view under its site and its page,
/// and one sliding event-time window stage (5 minutes, sliding every second) whose results feed the live figures:
/// distinct users per site, views per page, and the newest second against the 5-minute baseline for spikes.
/// </summary>
public static class DashboardPipeline
{
    /// <summary>The pipeline's name (and its service key).</summary>
    public const string Name = "dashboard";

    /// <summary>
    /// The service key the HTTP API reaches the pipeline by (ingest, dead letters, health): the pipeline itself in one
    /// process; with <c>--redis</c>, <see cref="RedisBackend"/>, which writes into the input stream the pipeline reads.
    /// </summary>
    public const string ApiKey = "dashboard-api";

    /// <summary>With <c>--redis</c>, the mark an event admitted while the demo fault is on carries in its <c>data</c>.</summary>
    public const string FaultMark = "demoFault";

    /// <summary>The window's length.</summary>
    public static readonly TimeSpan WindowSize = TimeSpan.FromMinutes(5);

    /// <summary>How often the window slides.</summary>
    public static readonly TimeSpan WindowSlide = TimeSpan.FromSeconds(1);

    /// <summary>How long after its end a window still takes events (they update it and it fires again).</summary>
    public static readonly TimeSpan AllowedLateness = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Why the door refuses an event outright, or <see langword="null"/>: an event whose newest window is already past
    /// its allowed lateness at the clock's event time could only ever be late (the watermark follows the clock while
    /// the input is quiet), so it is answered 400 for its element and counted, not admitted and not dead-lettered — one
    /// post of ancient events cannot fill the dead-letter store.
    /// </summary>
    /// <remarks>
    /// The newest window holding <c>t</c> starts at <c>floor(t / slide) · slide</c> and is late once
    /// <c>start + size − 1 + lateness ≤ W</c>; the door takes <c>W = now − 1</c> (no out-of-orderness), the watermark of
    /// an event stamped now. The watermark can run ahead of the clock by the future skew the door allows
    /// (<see cref="PageViews.MaxFutureSkew"/>), so an event up to that much younger than the horizon may still be late:
    /// it is admitted and counted late, never lost.
    /// </remarks>
    /// <param name="e">The envelope.</param>
    /// <param name="now">The clock, epoch milliseconds.</param>
    public static string? Refuse(PipelineEvent e, long now)
    {
        var slide = (long)WindowSlide.TotalMilliseconds;
        var newestStart = e.Timestamp - (((e.Timestamp % slide) + slide) % slide); // floor, negative timestamps included
        var horizon = now - (long)WindowSize.TotalMilliseconds - (long)AllowedLateness.TotalMilliseconds;
        return newestStart <= horizon
            ? string.Create(CultureInfo.InvariantCulture, $"\"timestamp\" {e.Timestamp} is older than the window's horizon ({WindowSize.TotalMinutes:0} minutes and {AllowedLateness.TotalSeconds:0} s of allowed lateness before now, {horizon}): it could only be late, so it is refused")
            : null;
    }

    /// <summary>Registers the pipeline.</summary>
    /// <param name="services">The services.</param>
    /// <param name="capacity">The pipeline's capacity and backpressure threshold (in memory).</param>
    /// <param name="partitioned">
    /// Whether it runs partitioned over Redis (<c>--redis</c>): then the demo fault is read from the event (its
    /// <see cref="FaultMark"/>), the same on every instance, and the sink takes nothing, since the live figures are read
    /// from the committed results of all partitions (<see cref="CommittedFigures"/>), not from this instance's.
    /// </param>
    /// <param name="deadLetterCapacity">In memory: the dead letters the store holds before posts get 503.</param>
    /// <returns>The registration, for <c>UseRedis</c>.</returns>
    public static EventPipelineServiceBuilder<PipelineEvent> AddDashboardPipeline(this IServiceCollection services, int capacity, bool partitioned = false, int deadLetterCapacity = 100_000) =>
        services.AddEventPipeline<PipelineEvent>(Name, (pipeline, sp) =>
            {
                var fault = sp.GetRequiredService<FaultSwitch>();
                var live = sp.GetRequiredService<LiveState>();
                Action<WindowResult<FigureKey, WindowFigures>> figures = partitioned ? static _ => { } : live.Update;
                return pipeline
                    .Transform("geo", e =>
                    {
                        var view = PageViews.Read(e);
                        return (partitioned ? IsMarked(e) : fault.Enabled) && view.Url.StartsWith("/checkout", StringComparison.Ordinal)
                            ? throw new TimeoutException($"geo lookup for {view.Site} timed out (the demo fault is on)")
                            : view;
                    })
                    .FanOut("keys", e => (Keyed[])[new Keyed(new FigureKey(e.Site, null), e), new Keyed(new FigureKey(e.Site, e.Url), e)])
                    .Window("last-5-minutes", new WindowOptions<Keyed, FigureKey>
                    {
                        Assigner = WindowAssigner.Sliding(WindowSize, WindowSlide),
                        Key = k => k.Key,
                        Timestamp = k => k.Event.Timestamp,
                        AllowedLateness = AllowedLateness, // events up to 30 s old still update their windows
                        IdleTimeout = TimeSpan.FromMilliseconds(250), // quiet input: event time follows the clock, figures keep moving
                    }, WindowStats.Aggregate)
                    .Sink("figures", figures)
                    .Build();
            })
            .ConfigureOptions(o =>
            {
                o.Capacity = capacity;
                o.BackpressureThreshold = capacity;
                if (!partitioned)
                {
                    // Full: posts get 503 until an operator replays or discards dead letters (waiting does not help).
                    o.DeadLetterStore = new InMemoryDeadLetterStore(new InMemoryDeadLetterStoreOptions { Capacity = deadLetterCapacity, FullMode = DeadLetterFullMode.RejectIngest });
                }

                o.Retry = new RetryOptions { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(50) };
            });

    /// <summary>Whether the envelope carries the demo fault's mark (<c>--redis</c>).</summary>
    public static bool IsMarked(PipelineEvent e) =>
        e.Data.ValueKind == JsonValueKind.Object && e.Data.TryGetProperty(FaultMark, out var mark) && mark.ValueKind == JsonValueKind.True;
}
