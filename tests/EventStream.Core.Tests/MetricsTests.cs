using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;

namespace EventStream.Tests;

public class MetricsTests
{
    [Fact]
    public async Task Throughput_is_the_real_finishing_rate_over_the_recent_interval()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero));
        await using var pipeline = PipelineBuilder.Create<int>("throughput", o => { o.TimeProvider = time; o.MetricsInterval = TimeSpan.FromSeconds(2); })
            .Filter("evens", x => x % 2 == 0)
            .Sink("s", _ => { })
            .Build();

        pipeline.Ingest(Enumerable.Range(0, 300).ToArray());
        await TestSupport.Eventually(() => pipeline.GetMetrics().InFlight == 0, "drained");
        time.Advance(TimeSpan.FromSeconds(1));
        pipeline.Ingest(Enumerable.Range(0, 100).ToArray());
        await TestSupport.Eventually(() => pipeline.GetMetrics().InFlight == 0, "drained");
        time.Advance(TimeSpan.FromSeconds(1));

        // 400 events finished (delivered or filtered) over the last two full seconds.
        pipeline.GetMetrics().ThroughputPerSecond.Should().Be(200);
        time.Advance(TimeSpan.FromSeconds(5));
        pipeline.GetMetrics().ThroughputPerSecond.Should().Be(0, "nothing finished in the recent interval");
    }

    [Fact]
    public async Task End_to_end_latency_percentiles_measure_admission_to_sink_on_the_pipeline_clock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pipeline = PipelineBuilder.Create<int>("latency", o => { o.TimeProvider = time; o.Timeout = Timeout.InfiniteTimeSpan; })
            .Sink("s", async (_, ct) => await gate.Task.WaitAsync(ct))
            .Build();

        await pipeline.WriteAsync(1);
        await TestSupport.Eventually(() => pipeline.GetMetrics().Stages[0].QueueDepth == 0, "taken by the sink");
        time.Advance(TimeSpan.FromMilliseconds(250));
        gate.SetResult();
        await pipeline.CompleteAsync();

        var m = pipeline.GetMetrics();
        m.LatencyP50.Should().Be(TimeSpan.FromMilliseconds(250));
        m.LatencyP99.Should().Be(TimeSpan.FromMilliseconds(250));
    }

    [Fact]
    public async Task The_snapshot_lists_every_stage_with_its_queue_and_failures()
    {
        await using var pipeline = PipelineBuilder.Create<int>("stages", o => o.Retry = RetryOptions.None)
            .Transform("t", x => x == 3 ? throw new IOException("x") : x)
            .Filter("f", _ => true)
            .Enrich("e", (x, _) => ValueTask.FromResult(x), new StageOptions { Capacity = 7 })
            .Sink("s", _ => { }, new StageOptions { Parallelism = 1 })
            .Build();
        pipeline.Ingest(new[] { 1, 2, 3 });
        await pipeline.CompleteAsync();

        var stages = pipeline.GetMetrics().Stages;
        stages.Select(s => (s.Name, s.Kind, s.Capacity)).Should().Equal(
            ("t", "transform", (int?)10_000),
            ("f", "filter", null),
            ("e", "enrich", 7),
            ("s", "sink", null));
        stages[0].DeadLettered.Should().Be(1);
    }

    [Fact]
    public async Task Counters_are_published_on_the_EventStream_meter_with_the_pipeline_tag()
    {
        var measured = new ConcurrentDictionary<string, long>();
        using var listener = Listen("metered", measured);

        await using var pipeline = PipelineBuilder.Create<int>("metered", o => o.Retry = RetryOptions.None)
            .Filter("odd", x => x % 2 == 1)
            .Transform("fail-on-5", x => x == 5 ? throw new IOException("5") : x)
            .Sink("s", _ => { })
            .Build();
        pipeline.Ingest(Enumerable.Range(0, 10).ToArray());
        await pipeline.CompleteAsync();
        listener.RecordObservableInstruments();

        measured[EventStreamMeter.Accepted].Should().Be(10);
        measured[EventStreamMeter.Filtered].Should().Be(5);
        measured[EventStreamMeter.DeadLettered].Should().Be(1);
        measured[EventStreamMeter.Delivered].Should().Be(4);
        measured.Should().ContainKey(EventStreamMeter.InFlight);
    }

    [Fact]
    public async Task Events_dead_lettered_by_a_cancellation_are_counted_on_the_meter_too()
    {
        var measured = new ConcurrentDictionary<string, long>();
        using var listener = Listen("cancel-metered", measured);
        var pipeline = PipelineBuilder.Create<int>("cancel-metered")
            .Sink("stuck", async (int _, CancellationToken ct) => await Task.Delay(Timeout.Infinite, ct))
            .Build();
        pipeline.Ingest(Enumerable.Range(0, 20).ToArray());
        await TestSupport.Eventually(() => pipeline.GetMetrics().InFlight == 20, "the sink holds the batch");

        await pipeline.DisposeAsync();

        var m = pipeline.GetMetrics();
        m.DeadLettered.Should().Be(20);
        measured[EventStreamMeter.DeadLettered].Should().Be(m.DeadLettered, "the meter and the snapshot agree");
    }

    private static MeterListener Listen(string pipeline, ConcurrentDictionary<string, long> measured)
    {
        var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EventStreamMeter.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "pipeline" && Equals(tag.Value, pipeline))
                {
                    measured.AddOrUpdate(instrument.Name, value, (_, v) => v + value);
                }
            }
        });
        listener.Start();
        return listener;
    }
}
