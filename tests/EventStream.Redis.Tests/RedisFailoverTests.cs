using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace EventStream.Redis.Tests;

/// <summary>
/// A failover, with real servers: the worker's address leads to a replica (a demoted master), then that replica is
/// promoted. On private servers of its own (in the Redis collection so that it does not run beside the other Redis tests).
/// </summary>
[Collection(RedisTests.Name)]
public sealed class RedisFailoverTests
{
    [Fact]
    public async Task A_partitioned_worker_goes_on_through_a_failover_that_demotes_its_master_to_a_replica()
    {
        // B is the master and A its replica; the worker knows both addresses. Mid-stream A is promoted and B made its
        // replica: B answers the worker's next write with READONLY until the client finds the new master.
        await using var b = await RedisServer.StartAsync();
        await using var a = await RedisServer.StartAsync(new RedisServerOptions { ExtraArguments = ["--replicaof", "127.0.0.1", b.Port.ToString(CultureInfo.InvariantCulture)] });
        using var admin = await ConnectionMultiplexer.ConnectAsync($"{b.Configuration},{a.Configuration},allowAdmin=true");
        var stream = "failover-" + Guid.NewGuid().ToString("N")[..8];
        var events = Enumerable.Range(0, 1_000).Select(i => new Click($"/p{i % 7}", 1_000 + (i * 10), 1, "u")).ToList();
        async Task ProduceAsync(IEnumerable<Click> part)
        {
            foreach (var e in part)
            {
                await admin.GetDatabase().StreamAddAsync(stream, "event", JsonSerializer.Serialize(e, JsonSerializerOptions.Web));
            }
        }

        await ProduceAsync(events.Take(500));
        using var connection = await ConnectionMultiplexer.ConnectAsync($"{b.Configuration},{a.Configuration},abortConnect=false"); // roles checked every 60 s
        var lines = new ConcurrentQueue<string>();
        var options = new PartitionedOptions { Stream = stream, Group = "g", Partitions = 4, CommitInterval = TimeSpan.FromMilliseconds(100), Lease = TimeSpan.FromSeconds(5) };
        var worker = PipelineBuilder.Create<Click>("clicks")
            .Window("w", new WindowOptions<Click, string> { Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)), Key = c => c.Url, Timestamp = c => c.Ts }, Aggregates.Count<Click>())
            .Sink("out", _ => { })
            .BuildPartitioned(connection, options, new Lines(lines));
        using var stop = new CancellationTokenSource();
        var running = worker.RunAsync(stop.Token);
        await TestSupport.Eventually(async () => (await RedisPartitionedPipeline.ReadMetricsAsync(admin, options)).Read == 500, "the worker commits the first half on B", 20_000);
        using (var replicaOnly = await ConnectionMultiplexer.ConnectAsync(a.Configuration))
        {
            // Replication is asynchronous: fail over only once A holds B's commits (a failover that loses acknowledged
            // writes loses them for any client; Redis says so).
            await TestSupport.Eventually(async () => (await RedisPartitionedPipeline.ReadMetricsAsync(replicaOnly, options)).Read == 500, "A has B's commits", 10_000);
        }

        await admin.GetServer(a.Configuration).ExecuteAsync("REPLICAOF", "NO", "ONE");
        await admin.GetServer(b.Configuration).ExecuteAsync("REPLICAOF", "127.0.0.1", a.Port.ToString(CultureInfo.InvariantCulture));
        using var onA = await ConnectionMultiplexer.ConnectAsync(a.Configuration);
        foreach (var e in events.Skip(500))
        {
            await onA.GetDatabase().StreamAddAsync(stream, "event", JsonSerializer.Serialize(e, JsonSerializerOptions.Web));
        }

        // The client still takes B for the master (it checks roles once a minute): the worker's next write gets READONLY.
        await TestSupport.Eventually(() => running.IsCompleted || lines.Any(l => l.Contains("READONLY", StringComparison.Ordinal)), "the worker meets the demoted master", 20_000);
        running.IsCompleted.Should().BeFalse("READONLY is waited out: " + string.Join(" | ", lines.TakeLast(3)));
        await connection.ConfigureAsync(); // the client's next role check, now: it finds A

        await TestSupport.Eventually(
            async () => running.IsCompleted || (await RedisPartitionedPipeline.ReadMetricsAsync(onA, options)).Read == events.Count,
            "the worker commits the second half on A, the new master",
            60_000);
        running.IsCompleted.Should().BeFalse("the failover is waited out: " + string.Join(" | ", lines.TakeLast(3)));
        await stop.CancelAsync();
        var summary = await running;

        var metrics = await RedisPartitionedPipeline.ReadMetricsAsync(onA, options);
        (metrics.Read, metrics.Windowed, metrics.DeadLettered).Should().Be((1_000, 1_000, 0), "every entry once, across the failover");
        summary.Outages.Should().BePositive("the worker met the demoted master and waited");
    }

    private sealed class Lines(ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue(formatter(state, exception));
    }
}
