using System.Text.Json;
using EventStream.Redis.Partitions;

namespace EventStream.Redis.Tests;

/// <summary>
/// Top-k and percentiles on the partitioned path commit exactly what one in-process pipeline emits, in every window
/// kind, across a stop in the middle of the input: the next owner restores each slice's and session's sketch from its
/// state codec and goes on adding to it and merging it (top-k past its capacity, so evictions depend on the restored
/// state; percentiles over negative, zero and positive values, past the exact limit). Real redis-server.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class PartitionedSketchParityTests(RedisServerFixture redis)
{
    private const int Partitions = 4;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private static readonly string[] Urls = ["/", "/a:b", "", "/cart", "/p?q=1", "/x:{y}"];

    public static TheoryData<string, string> Cases => new()
    {
        { "tumbling", "topk" },
        { "sliding", "topk" },
        { "session", "topk" },
        { "tumbling", "percentiles" },
        { "sliding", "percentiles" },
        { "session", "percentiles" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Workers_stopped_in_the_middle_and_a_next_owner_commit_the_sketch_values_one_in_process_pipeline_emits(string window, string aggregate)
    {
        var stream = "sketch-" + Guid.NewGuid().ToString("N")[..8];
        var prefix = "t" + Guid.NewGuid().ToString("N")[..6];
        PartitionedOptions Options(string consumer, TimeSpan? exitWhenIdle = null) => new()
        {
            Stream = stream,
            Group = "g",
            Consumer = consumer,
            KeyPrefix = prefix,
            Partitions = Partitions,
            CommitInterval = TimeSpan.FromMilliseconds(100),
            Lease = TimeSpan.FromSeconds(2),
            ExitWhenIdle = exitWhenIdle,
        };

        var events = Generate(seed: window.Length + aggregate.Length, count: 4000);
        var db = redis.Connection.GetDatabase();
        async Task ProduceAsync(IEnumerable<Click> batch) =>
            await Task.WhenAll(batch.Select(e => db.StreamAddAsync(stream, "event", JsonSerializer.Serialize(e, JsonSerializerOptions.Web))));
        async Task WaitUntilReadAsync(long n) => await TestSupport.Eventually(
            async () => (await RedisPartitionedPipeline.ReadMetricsAsync(redis.Connection, Options("reader"))).Read == n, $"{n} entries committed", 60_000);

        // Two workers read the first half and stop (a final commit of every sketch); a next owner restores them all.
        await ProduceAsync(events.Take(2000));
        using var stop = new CancellationTokenSource();
        var first = new[] { "w0", "w1" }.Select(name => Build(PipelineBuilder.Create<Click>("clicks", o => o.Retry = RetryOptions.None), window, aggregate, _ => { }, b => b.BuildPartitioned(redis.Connection, Options(name)))).ToList();
        var running = first.Select(w => w.RunAsync(stop.Token)).ToList();
        await WaitUntilReadAsync(2000);
        await stop.CancelAsync();
        await Task.WhenAll(running).WaitAsync(Timeout);
        await ProduceAsync(events.Skip(2000));
        var next = Build(PipelineBuilder.Create<Click>("clicks", o => o.Retry = RetryOptions.None), window, aggregate, _ => { }, b => b.BuildPartitioned(redis.Connection, Options("next", TimeSpan.FromMilliseconds(300))));
        await next.RunAsync(CancellationToken.None).WaitAsync(Timeout);

        var committed = new List<string>();
        await foreach (var line in RedisPartitionedPipeline.ReadResultsAsync(redis.Connection, Options("reader")))
        {
            committed.Add(Canonical(JsonDocument.Parse(line).RootElement));
        }

        var expected = new List<string>();
        var reference = Build(PipelineBuilder.Create<Click>("reference", o => o.Retry = RetryOptions.None), window, aggregate, json => expected.Add(json), b => b.Build());
        await using (reference)
        {
            foreach (var e in events)
            {
                await reference.WriteAsync(e);
            }

            await reference.CompleteAsync();
        }

        expected.Should().HaveCountGreaterThan(10);
        committed.Order(StringComparer.Ordinal).Should().Equal(expected.Order(StringComparer.Ordinal), "each firing committed once, with the value one process gives");
        if (aggregate == "topk")
        {
            expected.Should().Contain(r => System.Text.RegularExpressions.Regex.IsMatch(r, "\"error\":[1-9]"), "some windows are past the summary's capacity");
        }
    }

    /// <summary>The window, one of the two sketches, and a sink writing each result as the worker commits it (web JSON), canonical.</summary>
    private static TBuilt Build<TBuilt>(PipelineBuilder<Click, Click> head, string window, string aggregate, Action<string> sink, Func<IBuilt, TBuilt> finish)
    {
        var options = new WindowOptions<Click, string>
        {
            Assigner = window switch
            {
                "tumbling" => WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)),
                "sliding" => WindowAssigner.Sliding(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5)),
                _ => WindowAssigner.Session(TimeSpan.FromSeconds(3)),
            },
            Key = c => c.Url,
            Timestamp = c => c.Ts,
            OutOfOrderness = TimeSpan.FromSeconds(1),
        };
        void Sink<TResult>(WindowResult<string, TResult> r) => sink(Canonical(JsonSerializer.SerializeToElement(r, JsonSerializerOptions.Web)));
        return aggregate == "topk"
            ? finish(Wrap(head.Window("w", options, Aggregates.TopK<Click, string>(5, c => c.User, capacity: 20)).Sink("out", Sink)))
            : finish(Wrap(head.Window("w", options, Aggregates.Percentiles<Click>(c => c.Ms, 0, 0.5, 0.95, 0.99, 1)).Sink("out", Sink)));
    }

    private static Built<TOut> Wrap<TOut>(PipelineBuilder<Click, TOut> builder) => new(builder);

    /// <summary>A result as key, window, count and value (the value's JSON text), comparable as a string.</summary>
    private static string Canonical(JsonElement r) =>
        $"{r.GetProperty("key").GetString()}|{r.GetProperty("start").GetInt64()}|{r.GetProperty("end").GetInt64()}|{r.GetProperty("count").GetInt64()}|{r.GetProperty("firingNumber").GetInt32()}|{r.GetProperty("value").GetRawText()}";

    /// <summary>A pipeline builder whatever its output type, to be finished in process or partitioned.</summary>
    private interface IBuilt
    {
        IEventPipeline<Click> Build();

        RedisPartitionedWorker<Click> BuildPartitioned(StackExchange.Redis.IConnectionMultiplexer connection, PartitionedOptions options);
    }

    private sealed class Built<TOut>(PipelineBuilder<Click, TOut> builder) : IBuilt
    {
        public IEventPipeline<Click> Build() => builder.Build();

        public RedisPartitionedWorker<Click> BuildPartitioned(StackExchange.Redis.IConnectionMultiplexer connection, PartitionedOptions options) => builder.BuildPartitioned(connection, options);
    }

    /// <summary>Rising event times with pauses (sessions end) and up to 1 s of disorder; 200 users (past a capacity of 20), durations from -100 to 400.</summary>
    private static List<Click> Generate(int seed, int count)
    {
        var random = new Random(seed);
        var events = new List<Click>(count);
        long t = 1_700_000_000_000;
        for (var i = 0; i < count; i++)
        {
            t += random.Next(0, 60);
            if (random.Next(40) == 0)
            {
                t += random.Next(3_000, 8_000);
            }

            var user = (int)Math.Min(199, Math.Floor(Math.Pow(random.NextDouble(), 3) * 200)); // skewed: low ids most frequent
            events.Add(new Click(Urls[random.Next(Urls.Length)], t - random.Next(0, 1_000), random.Next(8) == 0 ? 0 : Math.Round((random.NextDouble() * 500) - 100, 1), "user" + user));
        }

        return events;
    }
}
