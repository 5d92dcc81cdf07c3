using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace EventStream.Tests;

public sealed class DeduplicateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    private sealed record Hit(string? Id, int Second, string Url = "/");

    private static DateTimeOffset At(Hit h) => T0.AddSeconds(h.Second);

    [Fact]
    public async Task A_resent_event_within_the_horizon_is_dropped_and_counted_and_the_accounting_holds()
    {
        var delivered = new ConcurrentQueue<Hit>();
        long onMeter = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == EventStreamMeter.Duplicates && instrument.Meter.Name == EventStreamMeter.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (tags.ToArray().Any(t => t is { Key: "pipeline", Value: "dedupe" }))
            {
                Interlocked.Add(ref onMeter, value);
            }
        });
        listener.Start();
        await using var pipeline = PipelineBuilder.Create<Hit>("dedupe")
            .Deduplicate("resends", h => h.Id, At, TimeSpan.FromSeconds(10))
            .Sink("s", delivered.Enqueue)
            .Build();

        // a resent at 3 s and at 9 s (within 10 s of its first sighting at 0 s), b twice at 5 s; a again at 30 s is a new visit.
        await pipeline.WriteBatchAsync(new Hit[] { new("a", 0), new("b", 5), new("a", 3), new("b", 5), new("a", 9), new("a", 30) });
        await pipeline.CompleteAsync();

        delivered.Select(h => (h.Id, h.Second)).Should().Equal(("a", 0), ("b", 5), ("a", 30));
        var m = pipeline.GetMetrics();
        m.Duplicates.Should().Be(3);
        m.ShouldBeBalanced();
        Interlocked.Read(ref onMeter).Should().Be(3, "each duplicate is counted on the Meter too");
        m.Stages.Single(s => s.Name == "resends").Kind.Should().Be("deduplicate");
    }

    [Fact]
    public async Task A_duplicate_is_caught_before_or_after_its_first_sighting_in_event_time()
    {
        var delivered = new ConcurrentQueue<Hit>();
        await using var pipeline = PipelineBuilder.Create<Hit>("dedupe-disorder")
            .Deduplicate("resends", h => h.Id, At, TimeSpan.FromSeconds(10))
            .Sink("s", delivered.Enqueue)
            .Build();

        // Out of order: the copy stamped 2 s earlier than the one seen first is still a duplicate.
        await pipeline.WriteBatchAsync(new Hit[] { new("a", 20), new("a", 18) });
        await pipeline.CompleteAsync();

        delivered.Should().ContainSingle().Which.Second.Should().Be(20);
        pipeline.GetMetrics().Duplicates.Should().Be(1);
    }

    [Fact]
    public async Task Ids_fall_out_of_the_state_once_the_newest_event_time_passes_them_by_the_horizon()
    {
        var delivered = new ConcurrentQueue<Hit>();
        await using var pipeline = PipelineBuilder.Create<Hit>("dedupe-horizon")
            .Deduplicate("resends", h => h.Id, At, TimeSpan.FromSeconds(5))
            .Sink("s", delivered.Enqueue)
            .Build();

        // b at 10 s moves the watermark to 5 s: a (seen at 0 s) is forgotten, so a late copy of it at 1 s passes —
        // the documented bound that keeps the state small.
        await pipeline.WriteBatchAsync(new Hit[] { new("a", 0), new("b", 10), new("a", 1), new("b", 12) });
        await pipeline.CompleteAsync();

        delivered.Select(h => (h.Id, h.Second)).Should().Equal(("a", 0), ("b", 10), ("a", 1));
        pipeline.GetMetrics().Duplicates.Should().Be(1, "b at 12 s is within 5 s of b at 10 s, which is still held");
    }

    [Fact]
    public async Task An_event_whose_id_cannot_be_read_is_dead_lettered_with_the_reason()
    {
        await using var pipeline = PipelineBuilder.Create<Hit>("dedupe-noid")
            .Deduplicate("resends", h => h.Url == "/boom" ? throw new InvalidDataException("unreadable id") : h.Id, At, TimeSpan.FromSeconds(10))
            .Sink("s", _ => { })
            .Build();

        await pipeline.WriteBatchAsync(new Hit[] { new(null, 0), new("x", 1, "/boom"), new("ok", 2) });
        await pipeline.CompleteAsync();

        var dead = await pipeline.DeadLetters.ListAsync("dedupe-noid");
        dead.Select(d => d.Message).Should().BeEquivalentTo(["Stage 'resends': the event has no id (the id selector returned null).", "unreadable id"]);
        dead.Should().AllSatisfy(d => d.Stage.Should().Be("resends"));
        var m = pipeline.GetMetrics();
        (m.Delivered, m.DeadLettered, m.Duplicates).Should().Be((1L, 2L, 0L));
        m.ShouldBeBalanced();
    }

    [Fact]
    public void Partitioned_execution_refuses_a_deduplicate_stage_by_name()
    {
        var builder = PipelineBuilder.Create<Hit>("dedupe-partitioned")
            .Deduplicate("resends", h => h.Id, At, TimeSpan.FromSeconds(10))
            .Window("per-url", new WindowOptions<Hit, string> { Assigner = WindowAssigner.Tumbling(TimeSpan.FromMinutes(1)), Key = h => h.Url, Timestamp = h => At(h).ToUnixTimeMilliseconds() }, Aggregates.Count<Hit>());

        var refuse = () => PartitionedPipeline.WindowIndex(builder.Definition);

        refuse.Should().Throw<PipelineConfigurationException>().WithMessage("*deduplicate stage 'resends' is not supported in partitioned execution*");
    }

    [Fact]
    public void A_horizon_that_is_not_positive_is_refused()
    {
        var build = () => PipelineBuilder.Create<Hit>("dedupe-bad").Deduplicate("resends", h => h.Id, At, TimeSpan.Zero);

        build.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("within");
    }
}
