using EventStream.DependencyInjection;
using EventStream.Retry;
using EventStream.Windowing;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// The pipeline behind the page: a "geo" stage (the one the demo fault breaks), a fan-out of each event under its site
/// and its page, and one sliding event-time window stage (5 minutes, sliding every second) whose results feed the
/// live figures: distinct users per site, views per page, and the newest second against the 5-minute baseline for spikes.
/// </summary>
public static class DashboardPipeline
{
    public const string Name = "dashboard";

    public static EventPipelineServiceBuilder<SiteEvent> AddDashboardPipeline(this IServiceCollection services, int capacity) =>
        services.AddEventPipeline<SiteEvent>(Name, (pipeline, sp) =>
            {
                var fault = sp.GetRequiredService<FaultSwitch>();
                var live = sp.GetRequiredService<LiveState>();
                return pipeline
                    .Transform("geo", e => fault.Enabled && e.Url.StartsWith("/checkout", StringComparison.Ordinal)
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
                    .Sink("figures", live.Update)
                    .Build();
            })
            .ConfigureOptions(o =>
            {
                o.Capacity = capacity;
                o.BackpressureThreshold = capacity;
                o.Retry = new RetryOptions { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(50) };
            });
}
