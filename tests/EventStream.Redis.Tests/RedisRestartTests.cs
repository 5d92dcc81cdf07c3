using EventStream.Redis;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace EventStream.Redis.Tests;

/// <summary>
/// A hosted pipeline (a stream source, or a window partitioned over the stream) through a real Redis restart, on a private server of its own (in the Redis collection only so that
/// its heavy set-up does not run beside the other Redis tests of this assembly).
/// </summary>
[Collection(RedisTests.Name)]
public sealed partial class RedisRestartTests
{
    [Theory]
    [InlineData(false)] // the stream source, through a consumer group
    [InlineData(true)] // a window partitioned over the stream
    public async Task A_hosted_pipeline_waits_out_a_restart_that_answers_LOADING_and_the_host_keeps_running(bool partitioned)
    {
        // appendfsync always: every acknowledged write is in the AOF the restart replays.
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { AppendFsync = "always", ExtraArguments = ["--enable-debug-command", "yes"] });
        using (var admin = await ConnectionMultiplexer.ConnectAsync(server.Configuration + ",allowAdmin=true,syncTimeout=120000,asyncTimeout=120000"))
        {
            // Five million keys in the AOF: replaying it takes seconds, and the server answers LOADING meanwhile.
            var db = admin.GetDatabase();
            await db.ExecuteAsync("DEBUG", "POPULATE", 5_000_000, "filler", 64);
            await db.ExecuteAsync("BGREWRITEAOF");
            await TestSupport.Eventually(
                async () => ((string)(await db.ExecuteAsync("INFO", "persistence"))!) is var info
                    && info.Contains("aof_rewrite_in_progress:0", StringComparison.Ordinal)
                    && info.Contains("aof_rewrite_scheduled:0", StringComparison.Ordinal)
                    && info.Contains("aof_last_bgrewrite_status:ok", StringComparison.Ordinal),
                "the AOF rewrite holds the filler keys",
                timeoutMs: 60_000);
        }

        var stream = "loading-" + Guid.NewGuid().ToString("N")[..8];
        var delivered = new ConcurrentQueue<string>();
        var builder = Host.CreateApplicationBuilder();
        var registration = partitioned
            ? builder.Services.AddEventPipeline<Click>("loading", (pipeline, _) => pipeline
                .Window("per-url", new WindowOptions<Click, string> { Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)), Key = c => c.Url, Timestamp = c => c.Ts }, Aggregates.Count<Click>())
                .Sink("collect", r => delivered.Enqueue(r.Key))
                .Build())
            : builder.Services.AddEventPipeline<Click>("loading", (pipeline, _) => pipeline.Sink("collect", c => delivered.Enqueue(c.Url)).Build());
        registration.UseRedis(server.Configuration + ",abortConnect=false,connectTimeout=1000", o =>
        {
            if (partitioned)
            {
                o.Partitioned = new PartitionedOptions { Stream = stream, Partitions = 4, CommitInterval = TimeSpan.FromMilliseconds(100), Lease = TimeSpan.FromSeconds(2) };
            }
            else
            {
                o.Source.Stream = stream;
                o.Source.MaxPollDelay = TimeSpan.FromMilliseconds(50);
            }
        });
        using var host = builder.Build();
        await host.StartAsync();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        using var producer = await ConnectionMultiplexer.ConnectAsync(server.Configuration + ",abortConnect=false");

        // Partitioned, a window's result is what reaches the sink: each event closes the window of the one before.
        await producer.GetDatabase().StreamAddAsync(stream, "event", """{"url":"/before","ts":1,"ms":1,"user":"u"}""");
        if (partitioned)
        {
            await producer.GetDatabase().StreamAddAsync(stream, "event", """{"url":"/between","ts":5000,"ms":1,"user":"u"}""");
        }

        await TestSupport.Eventually(() => delivered.Count == 1, "the first result is delivered", timeoutMs: 30_000);

        await server.KillAsync();
        await server.RestartAsync(); // returns once the server answers PING, after it has loaded its data
        var loaded = LoadTime().Matches(server.Output);
        loaded.Should().NotBeEmpty("the server reports how long it replayed its AOF");
        double.Parse(loaded[^1].Groups[1].Value, CultureInfo.InvariantCulture).Should().BeGreaterThan(0.5, "the source, polling every 50 ms, met the server while it answered LOADING");
        lifetime.ApplicationStopping.IsCancellationRequested.Should().BeFalse("an outage is waited out, it does not stop the host");

        await producer.GetDatabase().StreamAddAsync(stream, "event", """{"url":"/after","ts":10000,"ms":1,"user":"u"}""");
        await TestSupport.Eventually(() => delivered.Count == 2, "the event written after the restart is delivered", timeoutMs: 30_000);

        lifetime.ApplicationStopping.IsCancellationRequested.Should().BeFalse();
        delivered.Should().Equal(partitioned ? ["/before", "/between"] : ["/before", "/after"]);
        await host.StopAsync();
    }

    [GeneratedRegex(@"DB loaded from append only file: ([0-9.]+) seconds")]
    private static partial Regex LoadTime();
}
