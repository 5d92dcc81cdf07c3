using EventStream.Redis;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace EventStream.Redis.Tests;

/// <summary><c>services.AddEventPipeline(...).UseRedis(...)</c> in a host, against a real redis-server.</summary>
[Collection(RedisTests.Name)]
public sealed class UseRedisTests(RedisServerFixture redis)
{
    [Fact]
    public async Task A_hosted_pipeline_is_fed_from_a_stream_acknowledges_after_its_sink_and_dead_letters_into_Redis()
    {
        var stream = "orders-" + Guid.NewGuid().ToString("N")[..8];
        var prefix = "t" + Guid.NewGuid().ToString("N")[..6];
        var delivered = new ConcurrentQueue<Click>();
        var gate = new SemaphoreSlim(0);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddEventPipeline<Click>("clicks", (pipeline, _) => pipeline
                .Transform("check", c => c.Ms < 0 ? throw new ArgumentException($"negative duration {c.Ms}") : c)
                .Sink("collect", async (Click c, CancellationToken ct) =>
                {
                    await gate.WaitAsync(ct);
                    delivered.Enqueue(c);
                })
                .Build())
            .ConfigureOptions(o => o.Retry = RetryOptions.None)
            .UseRedis(redis.Configuration + ",connectTimeout=2000", o =>
            {
                o.KeyPrefix = prefix;
                o.Source.Stream = stream;
                o.Source.Consumer = "host-1";
                o.Source.CheckpointInterval = TimeSpan.FromMilliseconds(20);
            });
        using var host = builder.Build();
        await host.StartAsync();

        var producer = new RedisStreamProducer<Click>(redis.Connection, new RedisStreamOptions { Stream = stream });
        var events = Enumerable.Range(0, 100).Select(i => new Click("/p" + (i % 7), i, i % 10 == 0 ? -1 : i, "u")).ToList();
        var ids = await producer.PublishAsync(events);
        await redis.Connection.GetDatabase().StreamAddAsync(stream, "event", "{broken");

        // The sink is blocked: entries read must not be acknowledged before their events are delivered. Once the pipeline
        // has taken all 100 events (the source read them all), every one of them is still pending.
        var db = redis.Connection.GetDatabase();
        var hosted = host.Services.GetRequiredKeyedService<IEventPipeline<Click>>("clicks");
        await TestSupport.Eventually(() => hosted.GetMetrics().Accepted == 100, "the pipeline took the 100 events", timeoutMs: 15_000);
        hosted.GetMetrics().Delivered.Should().Be(0, "the sink holds the first event");
        var held = await db.StreamPendingMessagesAsync(stream, "clicks", 1000, RedisValue.Null);
        held.Select(p => p.MessageId.ToString()).Should().Contain(ids, "nothing is acknowledged while the sink holds events");

        gate.Release(1000);
        await TestSupport.Eventually(async () => (await db.StreamPendingAsync(stream, "clicks")).PendingMessageCount == 0 && delivered.Count == 90, "all delivered and acknowledged", timeoutMs: 15_000);

        // Dead letters are in Redis: another process (another store on the same prefix) lists them.
        var store = new RedisDeadLetterStore(redis.Connection, new RedisDeadLetterStoreOptions { KeyPrefix = prefix, ResolveType = _ => typeof(Click) });
        (await store.CountAsync("clicks")).Should().Be(10);
        var letters = await store.ListAsync("clicks", 100);
        letters.Should().OnlyContain(l => l.Stage == "check" && l.Message!.Contains("negative duration", StringComparison.Ordinal));
        host.Services.GetRequiredKeyedService<IDeadLetterStore>("clicks").Should().BeOfType<RedisDeadLetterStore>();

        var pipeline = host.Services.GetRequiredKeyedService<IEventPipeline<Click>>("clicks");
        var source = new RedisStreamSource<Click>(redis.Connection, pipeline, new RedisStreamSourceOptions { Stream = stream, Group = "clicks", KeyPrefix = prefix });
        var unreadable = await source.DeadLetters.ListAsync();
        unreadable.Should().ContainSingle().Which.Event.Should().Be("{broken");

        await host.StopAsync();
        var metrics = pipeline.GetMetrics();
        metrics.Accepted.Should().Be(100);
        (metrics.Delivered + metrics.DeadLettered).Should().Be(100, "101 produced = 90 delivered + 10 dead-lettered in the pipeline + 1 unreadable in the stream's dead letters");
    }

    [Fact]
    public async Task A_source_that_fails_stops_the_host_instead_of_ending_unnoticed()
    {
        var stream = "notastream-" + Guid.NewGuid().ToString("N")[..8];
        await redis.Connection.GetDatabase().StringSetAsync(stream, "a string, not a stream"); // XGROUP CREATE fails: WRONGTYPE
        var builder = Host.CreateApplicationBuilder();
        var log = new LogRecorder();
        builder.Logging.AddProvider(log);
        builder.Services.AddEventPipeline<Click>("clicks", (pipeline, _) => pipeline.Sink("s", _ => { }).Build())
            .UseRedis(redis.Configuration, o => o.Source.Stream = stream);
        using var host = builder.Build();
        var stopping = new TaskCompletionSource();
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());

        await host.StartAsync();

        await stopping.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await host.StopAsync();

        // Surfaced: logged as critical with the exception that stopped the source, and the host stopped because of it.
        var failure = log.Entries.Should().ContainSingle(e => e.Level == LogLevel.Critical, "the failure is logged once, as critical").Subject;
        failure.Message.Should().Contain("failed and stopped reading; stopping the host");
        failure.Exception.Should().BeAssignableTo<RedisServerException>().Which.Message.Should().Contain("WRONGTYPE");
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested.Should().BeTrue();
    }

    [Fact]
    public void A_bad_configuration_string_or_source_is_refused_at_registration()
    {
        var services = new ServiceCollection();
        var registration = services.AddEventPipeline<Click>("clicks", (p, _) => p.Sink("s", _ => { }).Build());
        FluentActions.Invoking(() => registration.UseRedis("localhost:6379,connectTimeout=soon"))
            .Should().Throw<ArgumentException>().WithMessage("*Event pipeline 'clicks': bad Redis configuration*connectTimeout*");
        FluentActions.Invoking(() => registration.UseRedis("localhost:6379", o =>
            {
                o.Source.Stream = "s";
                o.Source.BatchSize = 0;
            }))
            .Should().Throw<ArgumentException>().WithMessage("*BatchSize must be 1..10000 (was 0)*");
    }

    /// <summary>Keeps every log entry of the host, to see what it reported.</summary>
    private sealed class LogRecorder : ILoggerProvider
    {
        public System.Collections.Concurrent.ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(Entries);

        public void Dispose()
        {
        }

        private sealed class Logger(System.Collections.Concurrent.ConcurrentQueue<(LogLevel, string, Exception?)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue((logLevel, formatter(state, exception), exception));
        }
    }
}

/// <summary>The stream source on its own: claims from a dead consumer, poison entries, no acknowledgement before effects.</summary>
[Collection(RedisTests.Name)]
public sealed class RedisStreamSourceTests(RedisServerFixture redis)
{
    [Fact]
    public async Task A_stop_while_the_pipeline_is_full_acknowledges_only_what_the_pipeline_took()
    {
        var stream = "src-" + Guid.NewGuid().ToString("N")[..8];
        var db = redis.Connection.GetDatabase();
        var producer = new RedisStreamProducer<Click>(redis.Connection, new RedisStreamOptions { Stream = stream });
        await producer.PublishAsync(Enumerable.Range(0, 60).Select(i => new Click("/" + i, i, i, "u")).ToList());

        // A sink that waits: the pipeline (room for 10) fills up and the source waits to write its next batch.
        using var gate = new SemaphoreSlim(0);
        var delivered = new ConcurrentQueue<Click>();
        await using var pipeline = PipelineBuilder.Create<Click>("full", o => o.Capacity = 10)
            .Sink("slow", async (Click c, CancellationToken ct) => { await gate.WaitAsync(CancellationToken.None); delivered.Enqueue(c); })
            .Build();
        var source = new RedisStreamSource<Click>(redis.Connection, pipeline, new RedisStreamSourceOptions { Stream = stream, Group = "g", Consumer = "c", BatchSize = 5 });
        using var cts = new CancellationTokenSource();
        var run = source.RunAsync(cts.Token, drainTimeout: TimeSpan.FromSeconds(20));

        // Blocked: the input queue is full (the sink holds its first event forever, so it stays full) and the source
        // holds entries it read but could not write.
        long read = 0;
        await TestSupport.Eventually(
            async () =>
            {
                read = (await db.StreamGroupInfoAsync(stream)).Single().EntriesRead ?? 0;
                var m = pipeline.GetMetrics();
                return m.Stages[0].QueueDepth >= m.Stages[0].Capacity && read > m.Accepted;
            },
            "the source fills the pipeline and then waits",
            timeoutMs: 15_000);

        read.Should().BeLessThan(60, "the source waits on the full pipeline");
        await cts.CancelAsync();
        gate.Release(1000); // the pipeline drains after the stop; the last checkpoint acknowledges what it took
        await run;

        (await db.StreamGroupInfoAsync(stream)).Single().EntriesRead.Should().Be(read, "a blocked source reads nothing more");
        source.Acknowledged.Should().Be(delivered.Count, "exactly the events the pipeline took are acknowledged");
        var pending = (await db.StreamPendingAsync(stream, "g")).PendingMessageCount;
        pending.Should().BePositive("the batch the stop cut short was never admitted: it stays pending for a peer");
        (source.Acknowledged + pending).Should().Be(read);
    }

    [Fact]
    public async Task Entries_other_clients_write_in_camelCase_are_read_with_their_properties()
    {
        // Written the way redis-cli or a producer in another language writes events: camelCase JSON in the 'event' field.
        var stream = "camel-" + Guid.NewGuid().ToString("N")[..8];
        var db = redis.Connection.GetDatabase();
        await db.StreamCreateConsumerGroupAsync(stream, "g", "0", createStream: true);
        await db.StreamAddAsync(stream, "event", """{"url":"/a","ts":5,"ms":1.5,"user":"u1"}""");
        var delivered = new ConcurrentQueue<Click>();
        await using var pipeline = PipelineBuilder.Create<Click>("camel").Sink("collect", c => delivered.Enqueue(c)).Build();
        var source = new RedisStreamSource<Click>(redis.Connection, pipeline, new RedisStreamSourceOptions { Stream = stream, Group = "g", Consumer = "c" });
        using var cts = new CancellationTokenSource();
        var run = source.RunAsync(cts.Token);

        await TestSupport.Eventually(() => !delivered.IsEmpty, "the entry is delivered");
        await cts.CancelAsync();
        await run;

        delivered.Should().ContainSingle().Which.Should().Be(new Click("/a", 5, 1.5, "u1"));
        (await source.DeadLetters.CountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Entries_a_dead_consumer_left_pending_are_claimed_and_those_delivered_too_often_are_dead_lettered()
    {
        var stream = "src-" + Guid.NewGuid().ToString("N")[..8];
        var db = redis.Connection.GetDatabase();
        await db.StreamCreateConsumerGroupAsync(stream, "g", "0", createStream: true);
        var producer = new RedisStreamProducer<Click>(redis.Connection, new RedisStreamOptions { Stream = stream });
        await producer.PublishAsync(Enumerable.Range(0, 20).Select(i => new Click("/" + i, i, i, "u")).ToList());

        // A consumer that read everything and died. Entries 0..4 have been delivered 3 times already (it crashed on them).
        var taken = await db.StreamReadGroupAsync(stream, "g", "dead", ">", 100);
        taken.Should().HaveCount(20);
        for (var i = 0; i < 2; i++)
        {
            await db.StreamClaimAsync(stream, "g", "dead", 0, taken.Take(5).Select(e => e.Id).ToArray());
        }

        var delivered = new ConcurrentQueue<Click>();
        await using var pipeline = PipelineBuilder.Create<Click>("src").Sink("collect", c => delivered.Enqueue(c)).Build();
        var source = new RedisStreamSource<Click>(redis.Connection, pipeline, new RedisStreamSourceOptions
        {
            Stream = stream,
            Group = "g",
            Consumer = "live",
            ClaimIdleTime = TimeSpan.FromMilliseconds(200),
            MaxDeliveries = 3,
        });
        using var cts = new CancellationTokenSource();
        var run = source.RunAsync(cts.Token);
        await TestSupport.Eventually(
            async () => delivered.Count >= 15 && (await db.StreamPendingAsync(stream, "g")).PendingMessageCount == 0,
            "the live consumer claims what the dead one held",
            timeoutMs: 15_000);

        await cts.CancelAsync();
        await run;
        delivered.Select(c => c.Url).Should().BeEquivalentTo(Enumerable.Range(5, 15).Select(i => "/" + i));
        var letters = await source.DeadLetters.ListAsync();
        letters.Select(l => l.SourceId).Should().BeEquivalentTo(taken.Take(5).Select(e => e.Id.ToString()));
        letters.Should().OnlyContain(l => l.Error.Contains("delivered 3 times", StringComparison.Ordinal) && l.Stage == "source" && l.Attempts == 3);
        letters.Should().OnlyContain(l => l.ProducedAt <= l.FailedAt && l.FailedAt > DateTimeOffset.UtcNow.AddMinutes(-1));
        source.Acknowledged.Should().Be(15);

        // Replayed once the cause is fixed: back in the input, taken by the next run, nothing duplicated.
        (await source.DeadLetters.ReplayAllAsync()).Should().Be(5);
        (await source.DeadLetters.CountAsync()).Should().Be(0);
        using var again = new CancellationTokenSource();
        var rerun = source.RunAsync(again.Token);
        await TestSupport.Eventually(() => delivered.Count >= 20, "the replayed entries are delivered", timeoutMs: 15_000);

        await again.CancelAsync();
        await rerun;
        delivered.Select(c => c.Url).Should().OnlyHaveUniqueItems().And.HaveCount(20);
    }
}
