using Microsoft.Extensions.Time.Testing;

namespace EventStream.Tests;

[CollectionDefinition(nameof(AllocationSensitive), DisableParallelization = true)]
public sealed class AllocationSensitive;

[Collection(nameof(AllocationSensitive))]
public class RegressionTests
{
    [Fact]
    public async Task Parallel_enrich_does_not_keep_a_token_registration_alive_per_event()
    {
        // Regression: each call used to link a new CancellationTokenSource to the pipeline token and never dispose it,
        // so a running pipeline kept ~140 bytes per event it had ever enriched (~430 MB for 3M events).
        await using var pipeline = PipelineBuilder.Create<int>("parallel-retained", o => o.BatchSize = 512)
            .Enrich("sync", (int x, CancellationToken _) => ValueTask.FromResult(x), new StageOptions { Parallelism = 4 })
            .Sink("s", _ => { })
            .Build();
        await pipeline.WriteBatchAsync(Enumerable.Range(0, 10_000).ToArray());
        await TestSupport.Eventually(() => pipeline.GetMetrics().InFlight == 0, "warm-up drained");
        var before = GC.GetTotalMemory(forceFullCollection: true);

        await pipeline.WriteBatchAsync(Enumerable.Range(0, 200_000).ToArray());
        await TestSupport.Eventually(() => pipeline.GetMetrics().InFlight == 0, "drained");
        var retained = GC.GetTotalMemory(forceFullCollection: true) - before;

        retained.Should().BeLessThan(4_000_000, "200,000 events must not leave ~28 MB of registrations on a live pipeline");
        GC.KeepAlive(pipeline);
    }

    [Fact]
    public async Task A_lone_retried_event_weighs_as_one_event_in_the_latency_percentiles()
    {
        // Regression: latency was one sample per delivered batch, so a retried event (delivered alone) counted as much
        // as a full batch and pulled the median up.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero));
        var failed = 0;
        await using var pipeline = PipelineBuilder.Create<int>("weights", o =>
            {
                o.TimeProvider = time;
                o.BatchSize = 100;
                o.Retry = new RetryOptions { MaxAttempts = 2, BaseDelay = TimeSpan.FromSeconds(1), UseJitter = false };
            })
            .Transform("flaky-once", x => x == 0 && Interlocked.Exchange(ref failed, 1) == 0 ? throw new IOException("once") : x)
            .Sink("s", _ => { })
            .Build();

        pipeline.Ingest(Enumerable.Range(0, 100).ToArray()); // one batch: 99 delivered at once, event 0 retried
        await TestSupport.Eventually(() => pipeline.GetMetrics().Delivered == 99, "99 delivered");
        time.Advance(TimeSpan.FromSeconds(1));
        await pipeline.CompleteAsync();

        var m = pipeline.GetMetrics();
        m.Delivered.Should().Be(100);
        m.LatencyP50.Should().Be(TimeSpan.Zero);
        m.LatencyP95.Should().Be(TimeSpan.Zero);
    }
}
