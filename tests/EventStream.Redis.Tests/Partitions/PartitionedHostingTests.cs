using EventStream.Redis.Partitions;
using EventStream.Redis;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventStream.Redis.Tests.Partitions;

/// <summary><c>AddEventPipeline(...).UseRedis(..., o => o.Partitioned = ...)</c>: the same registration, run partitioned, in real hosts.</summary>
[Collection(RedisTests.Name)]
public sealed class PartitionedHostingTests(RedisServerFixture redis)
{
    [Fact]
    public async Task A_host_restarted_in_the_middle_of_its_windows_goes_on_with_them_and_fires_each_once()
    {
        // Regression (issue 10): with UseRedis, a host stop completed the pipeline (every open window fired as if final)
        // and after the restart the same windows fired again from empty: each window twice, 50 + 50 events.
        var stream = "views-" + Guid.NewGuid().ToString("N")[..8];
        var prefix = "t" + Guid.NewGuid().ToString("N")[..6];
        var db = redis.Connection.GetDatabase();
        var sunk = new ConcurrentQueue<WindowResult<string, long>>();
        for (var i = 0; i < 50; i++)
        {
            await db.StreamAddAsync(stream, "event", $$"""{"url":"/p{{i % 5}}","timestamp":{{1_000 + i}}}"""); // camelCase, as another client writes it
        }

        await RunHostAsync(stream, prefix, sunk, until: async () => (await ReadAsync(stream, prefix)).Read == 50);
        sunk.Should().BeEmpty("the stop fired nothing: the windows are still open");

        for (var i = 50; i < 100; i++)
        {
            await db.StreamAddAsync(stream, "event", $$"""{"url":"/p{{i % 5}}","timestamp":{{1_000 + i}}}""");
        }

        await db.StreamAddAsync(stream, "event", """{"url":"/close","timestamp":20000}""");
        await RunHostAsync(stream, prefix, sunk, until: async () => (await ReadAsync(stream, prefix)).Results == 5);

        sunk.Select(r => (r.Key, r.Start, r.Count, r.Firing, r.FiringNumber)).Order().Should().Equal(
            Enumerable.Range(0, 5).Select(k => ($"/p{k}", 0L, 20L, WindowFiring.OnTime, 1)),
            "one result per window, with the events from before and after the restart");
        var metrics = await ReadAsync(stream, prefix);
        (metrics.Read, metrics.Windowed).Should().Be((101, 101));
    }

    [Fact]
    public void A_partitioned_registration_is_checked_when_it_is_made()
    {
        var services = new ServiceCollection();
        var registration = services.AddEventPipeline<Click>("bad", (p, _) => p.Sink("s", _ => { }).Build());

        var both = () => registration.UseRedis(redis.Configuration, o =>
        {
            o.Partitioned = new PartitionedOptions { Stream = "x" };
            o.Source.Stream = "x";
        });
        var invalid = () => services.AddEventPipeline<Click>("bad2", (p, _) => p.Sink("s", _ => { }).Build())
            .UseRedis(redis.Configuration, o => o.Partitioned = new PartitionedOptions { Stream = "x", Partitions = 0 });

        both.Should().Throw<ArgumentException>().WithMessage("*Partitioned or Source.Stream, not both*");
        invalid.Should().Throw<ArgumentException>().WithMessage("*Partitions must be between 1 and 1024 (was 0)*");
    }

    [Fact]
    public async Task A_host_whose_worker_disagrees_with_the_stored_definition_logs_it_and_stops_without_throwing()
    {
        // Regression: the worker's failure was noticed by nothing; the host ran on without it, and its stop rethrew.
        var stream = "views-" + Guid.NewGuid().ToString("N")[..8];
        var prefix = "t" + Guid.NewGuid().ToString("N")[..6];
        var sunk = new ConcurrentQueue<WindowResult<string, long>>();
        var db = redis.Connection.GetDatabase();
        await RunHostAsync(stream, prefix, sunk, until: async () => await db.KeyExistsAsync(new PartitionKeys(prefix, stream, "views", 4).Definition));

        var lines = new ConcurrentQueue<string>();
        using var host = BuildHost(stream, prefix, sunk, partitions: 8, log: lines.Enqueue);
        var stopping = new TaskCompletionSource();
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
        await host.StartAsync();
        await stopping.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var stop = () => host.StopAsync();
        await stop.Should().NotThrowAsync();

        lines.Should().Contain(l => l.StartsWith("Critical: Event pipeline 'views': the partitioned worker of stream '" + stream + "' failed and stopped: ", StringComparison.Ordinal) && l.Contains("partitions: stored 4, this worker 8", StringComparison.Ordinal));
        var pipeline = host.Services.GetRequiredService<IEventPipeline<Click>>();
        await pipeline.Invoking(p => p.Completion).Should().ThrowAsync<InvalidOperationException>().WithMessage("*another definition*");
    }

    public sealed record Click(string Url, long Timestamp);

    private Task<PartitionedMetrics> ReadAsync(string stream, string prefix) =>
        RedisPartitionedPipeline.ReadMetricsAsync(redis.Connection, new PartitionedOptions { Stream = stream, Group = "views", KeyPrefix = prefix, Partitions = 4 });

    private async Task RunHostAsync(string stream, string prefix, ConcurrentQueue<WindowResult<string, long>> sunk, Func<Task<bool>> until)
    {
        using var host = BuildHost(stream, prefix, sunk, partitions: 4);
        await host.StartAsync();
        var pipeline = host.Services.GetRequiredService<IEventPipeline<Click>>();
        var write = () => pipeline.TryWrite(new Click("/x", 1));
        write.Should().Throw<NotSupportedException>().WithMessage($"*reads its input from the stream '{stream}'*");
        var discard = () => pipeline.DiscardDeadLettersAsync(new DeadLetterDiscard { Reason = DeadLetterReason.Late });
        await discard.Should().ThrowAsync<NotSupportedException>().WithMessage("*committed with its partitions' state*ReplayDeadLettersAsync*");
        await TestSupport.Eventually(until, "the host's worker committed the input", timeoutMs: 30_000);
        await host.StopAsync();
        pipeline.Completion.IsCompletedSuccessfully.Should().BeTrue("the stop committed and handed over");
    }

    private IHost BuildHost(string stream, string prefix, ConcurrentQueue<WindowResult<string, long>> sunk, int partitions, Action<string>? log = null)
    {
        var builder = Host.CreateApplicationBuilder();
        if (log is not null)
        {
            builder.Logging.AddProvider(new LineLogger(log));
        }

        builder.Services.AddEventPipeline<Click>("views", (pipeline, _) => pipeline
                .Window("per-url", new WindowOptions<Click, string>
                {
                    Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)),
                    Key = c => c.Url,
                    Timestamp = c => c.Timestamp,
                }, Aggregates.Count<Click>())
                .Sink("collect", r => sunk.Enqueue(r))
                .Build())
            .UseRedis(redis.Configuration, o =>
            {
                o.KeyPrefix = prefix;
                o.Partitioned = new PartitionedOptions
                {
                    Stream = stream,
                    Partitions = partitions,
                    CommitInterval = TimeSpan.FromMilliseconds(100),
                    Lease = TimeSpan.FromSeconds(2),
                };
            });
        return builder.Build();
    }

    /// <summary>Every log line of a host, as text.</summary>
    private sealed class LineLogger(Action<string> log) : Microsoft.Extensions.Logging.ILoggerProvider, Microsoft.Extensions.Logging.ILogger
    {
        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            log($"{logLevel}: {formatter(state, exception)}");

        public void Dispose()
        {
        }
    }
}
