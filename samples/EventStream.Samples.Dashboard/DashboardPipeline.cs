
namespace EventStream.Samples.Dashboard;

/// <summary>
/// The pipeline behind the page: a "geo" stage (the one the demo fault breaks), a fan-out of each event under its site
/// and its page, and one sliding event-time window stage (5 minutes, sliding every second) whose results feed the
/// live figures: distinct users per site, views per page, and the newest second against the 5-minute baseline for spikes.
/// </summary>
public static class DashboardPipeline
{
    public const string Name = "dashboard";

    /// <summary>Registers the pipeline.</summary>
    /// <param name="services">The services.</param>
    /// <param name="capacity">The pipeline's capacity and backpressure threshold (in memory).</param>
    /// <param name="partitioned">
    /// Whether it runs partitioned over Redis (<c>--redis</c>): then the demo fault is read from the event
    /// (<see cref="SiteEvent.GeoFault"/>), the same on every instance, and the sink takes nothing, since the live figures
    /// are read from the committed results of all partitions (<see cref="CommittedFigures"/>), not from this instance's.
    /// </param>
    /// <returns>The registration, for <c>UseRedis</c>.</returns>
    public static EventPipelineServiceBuilder<SiteEvent> AddDashboardPipeline(this IServiceCollection services, int capacity, bool partitioned = false, int deadLetterCapacity = 100_000) =>
        services.AddEventPipeline<SiteEvent>(Name, (pipeline, sp) =>
            {
                var fault = sp.GetRequiredService<FaultSwitch>();
                var live = sp.GetRequiredService<LiveState>();
                Action<WindowResult<FigureKey, WindowFigures>> figures = partitioned ? static _ => { } : live.Update;
                return pipeline
                    .Transform("geo", e => (partitioned ? e.GeoFault : fault.Enabled) && e.Url.StartsWith("/checkout", StringComparison.Ordinal)
                        ? throw new TimeoutException($"geo lookup for {e.Site} timed out (the demo fault is on)")
                        : e)
                    .FanOut("keys", e => (Keyed[])[new Keyed(new FigureKey(e.Site, null), e), new Keyed(new FigureKey(e.Site, e.Url), e)])
                    .Window("last-5-minutes", new WindowOptions<Keyed, FigureKey>
                    {
                        Assigner = WindowAssigner.Sliding(TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(1)),
                        Key = k => k.Key,
                        Timestamp = k => k.Event.Timestamp,
                        AllowedLateness = TimeSpan.FromSeconds(30), // events up to 30 s old still update their windows
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
                    // Full: posts get 503 until an operator replays or removes dead letters (waiting does not help).
                    o.DeadLetterStore = new InMemoryDeadLetterStore(new InMemoryDeadLetterStoreOptions { Capacity = deadLetterCapacity, FullMode = DeadLetterFullMode.RejectIngest });
                }

                o.Retry = new RetryOptions { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(50) };
            });
}
