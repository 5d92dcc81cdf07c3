using EventStream;

/// <summary>Users online per site: distinct visitors over the last 5 minutes, a fresh figure every second.</summary>
public static class UsersOnline
{
    public static IEventPipeline<PageView> Build(Action<WindowResult<string, long>> publish) =>
        PipelineBuilder.Create<PageView>("users-online")
            .Window("per-site", new WindowOptions<PageView, string>
            {
                Assigner = WindowAssigner.Sliding(size: TimeSpan.FromMinutes(5), slide: TimeSpan.FromSeconds(1)),
                Key = view => view.Site,
                Timestamp = view => view.Time.ToUnixTimeMilliseconds(), // event time, in Unix milliseconds
                OutOfOrderness = TimeSpan.FromSeconds(5),  // the watermark trails the newest event by 5 s
                AllowedLateness = TimeSpan.FromMinutes(1), // a view up to a minute late fires its window again
                EarlyFiringInterval = TimeSpan.FromSeconds(1), // in-progress figures every second
            }, Aggregates.DistinctCount<PageView, string>(view => view.UserId))
            .Sink("publish", publish) // WindowResult: Key, Start, End, Value, Count, Firing, FiringNumber
            .Build();
}
