using System.Collections.Concurrent;
using System.Text.Json;
using EventStream.DependencyInjection;
using EventStream.Redis.DependencyInjection;
using EventStream.Redis.Partitions;
using EventStream.Windowing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

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

    public sealed record Click(string Url, long Timestamp);

    private Task<PartitionedMetrics> ReadAsync(string stream, string prefix) =>
        RedisPartitionedPipeline.ReadMetricsAsync(redis.Connection, new PartitionedOptions { Stream = stream, Group = "views", KeyPrefix = prefix, Partitions = 4 });

    private async Task RunHostAsync(string stream, string prefix, ConcurrentQueue<WindowResult<string, long>> sunk, Func<Task<bool>> until)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddEventPipeline<Click>("views", (pipeline, _) => pipeline
                .Window("per-url", new WindowOptions<Click, string>
                {
                    Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)),
                    Key = c => c.Url,
                    Timestamp = c => c.Timestamp,
                }, Aggregates.Aggregate.Count<Click>())
                .Sink("collect", r => sunk.Enqueue(r))
                .Build())
            .UseRedis(redis.Configuration, o =>
            {
                o.KeyPrefix = prefix;
                o.Partitioned = new PartitionedOptions
                {
                    Stream = stream,
                    Partitions = 4,
                    CommitInterval = TimeSpan.FromMilliseconds(100),
                    Lease = TimeSpan.FromSeconds(2),
                };
            });
        using var host = builder.Build();
        await host.StartAsync();
        var pipeline = host.Services.GetRequiredService<IEventPipeline<Click>>();
        var write = () => pipeline.TryWrite(new Click("/x", 1));
        write.Should().Throw<NotSupportedException>().WithMessage($"*reads its input from the stream '{stream}'*");
        await TestSupport.Eventually(until, "the host's worker committed the input", timeoutMs: 30_000);
        await host.StopAsync();
        pipeline.Completion.IsCompletedSuccessfully.Should().BeTrue("the stop committed and handed over");
    }
}
