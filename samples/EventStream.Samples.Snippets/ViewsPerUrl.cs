using EventStream;
using EventStream.Redis;
using StackExchange.Redis;

/// <summary>Views per URL per minute, computed together by every process that runs this worker on one Redis.</summary>
public static class ViewsPerUrl
{
    public static async Task RunAsync(string redisConfiguration, ViewStore store, CancellationToken stoppingToken)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisConfiguration); // one per process
        var worker = PipelineBuilder.Create<PageView>("views-per-url")
            .Window("per-url", new WindowOptions<PageView, string>
            {
                Assigner = WindowAssigner.Tumbling(TimeSpan.FromMinutes(1)),
                Key = view => view.Url,
                Timestamp = view => view.Time.ToUnixTimeMilliseconds(),
                OutOfOrderness = TimeSpan.FromSeconds(5),
            }, Aggregates.Count<PageView>())
            .Sink("store", store.UpsertAsync) // committed results, at least once: store them by key and window
            .BuildPartitioned(redis, new PartitionedOptions { Stream = "clicks", Group = "views-per-url", Partitions = 16 });

        var summary = await worker.RunAsync(stoppingToken); // a stop commits, hands its partitions over, fires nothing
        Console.WriteLine($"{summary.EntriesRead} entries read, {summary.Results} results committed");
    }
}
