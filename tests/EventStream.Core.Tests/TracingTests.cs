using System.Collections.Concurrent;
using System.Diagnostics;

namespace EventStream.Tests;

/// <summary>Listeners are process-wide: these tests run alone, so no other test's pipeline traces meanwhile, or not.</summary>
[CollectionDefinition(nameof(TracesAlone), DisableParallelization = true)]
public sealed class TracesAlone;

[Collection(nameof(TracesAlone))]
public sealed class TracingTests
{
    private const string CallerName = "EventStream.Tests.Caller";
    private static readonly ActivitySource Caller = new(CallerName);

    [Fact]
    public async Task A_batch_is_one_span_per_segment_linked_to_its_ingest_span_and_its_dead_letter_keeps_the_callers_trace()
    {
        using var spans = new Spans("traced");
        await using var pipeline = PipelineBuilder.Create<int>("traced", o => o.Retry = RetryOptions.None)
            .Transform("parse", (int x) => x == 3 ? throw new FormatException("three") : x)
            .Transform("enrich", (int x) => x + 1, new StageOptions { Capacity = 100 })
            .Sink("store", _ => { })
            .Build();

        ActivityContext request;
        using (var caller = Caller.StartActivity("POST /events")!)
        {
            request = caller.Context;
            pipeline.Ingest([1, 2, 3, 4, 5]);
        }

        await TestSupport.Eventually(() => pipeline.GetMetrics() is { InFlight: 0, DeadLettered: 1 }, "processed");
        await pipeline.CompleteAsync();

        var ingest = spans.Named(EventStreamTracing.Ingest).Should().ContainSingle().Subject;
        ingest.ParentSpanId.Should().Be(request.SpanId, "the ingest span is a child of the caller's activity");
        ingest.TraceId.Should().Be(request.TraceId);
        ingest.Kind.Should().Be(ActivityKind.Producer);
        ingest.GetTagItem(EventStreamTracing.BatchSizeTag).Should().Be(5);

        // One span per batch and segment (two segments: parse, and enrich+store behind its own queue) — not one per event.
        var process = spans.Named(EventStreamTracing.Process);
        process.Select(s => (string?)s.GetTagItem(EventStreamTracing.StageTag)).Should().BeEquivalentTo(["parse", "enrich"]);
        process.Should().AllSatisfy(s =>
        {
            s.Links.Select(l => l.Context.SpanId).Should().Equal(ingest.SpanId);
            s.ParentSpanId.Should().Be(default(ActivitySpanId), "a batch span is a root, linked to what admitted it");
        });

        var dead = (await pipeline.DeadLetters.ListAsync("traced")).Single();
        dead.TraceParent.Should().Be($"00-{request.TraceId}-{ingest.SpanId}-01", "the dead letter keeps the trace of the request that brought its event");
    }

    [Fact]
    public async Task A_replay_span_links_back_to_the_trace_each_replayed_dead_letter_kept()
    {
        using var spans = new Spans("traced-replay");
        var failing = true;
        await using var pipeline = PipelineBuilder.Create<int>("traced-replay", o => o.Retry = RetryOptions.None)
            .Sink("flaky", _ => { if (Volatile.Read(ref failing)) { throw new IOException("down"); } })
            .Build();

        ActivityContext request;
        using (var caller = Caller.StartActivity("POST /events")!)
        {
            request = caller.Context;
            await pipeline.WriteBatchAsync(new[] { 1, 2 });
        }

        await TestSupport.Eventually(() => pipeline.GetMetrics().DeadLettered == 2, "dead-lettered");
        var kept = (await pipeline.DeadLetters.ListAsync("traced-replay")).Select(e => e.TraceParent).Distinct().Should().ContainSingle().Subject;
        Volatile.Write(ref failing, false);

        var result = await pipeline.ReplayDeadLettersAsync();

        result.Replayed.Should().Be(2);
        var replay = spans.Named(EventStreamTracing.Replay).Should().ContainSingle().Subject;
        replay.Links.Should().HaveCount(2).And.AllSatisfy(l => l.Context.TraceId.Should().Be(request.TraceId));
        replay.Links.Select(l => $"00-{l.Context.TraceId}-{l.Context.SpanId}-01").Distinct().Should().Equal(kept);
        replay.GetTagItem("eventstream.replay.replayed").Should().Be(2);
    }

    [Fact]
    public async Task Without_a_listener_nothing_is_traced_and_dead_letters_carry_no_trace()
    {
        await using var pipeline = PipelineBuilder.Create<int>("untraced", o => o.Retry = RetryOptions.None)
            .Sink("fails", (int _) => throw new IOException("down"))
            .Build();
        using var listener = new ActivityListener { ShouldListenTo = s => s.Name == CallerName, Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded };
        ActivitySource.AddActivityListener(listener);

        using (Caller.StartActivity("POST /events"))
        {
            pipeline.Ingest([1]);
        }

        await TestSupport.Eventually(() => pipeline.GetMetrics().DeadLettered == 1, "dead-lettered");
        PipelineTracing.IsEnabled.Should().BeFalse("no listener listens to the EventStream source");
        (await pipeline.DeadLetters.ListAsync("untraced")).Single().TraceParent.Should().BeNull();
    }

    /// <summary>Records the EventStream spans of one pipeline (and listens to the test's caller source).</summary>
    private sealed class Spans : IDisposable
    {
        private readonly ConcurrentQueue<Activity> _stopped = new();
        private readonly ActivityListener _listener;

        public Spans(string pipeline)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name is EventStreamTracing.ActivitySourceName or CallerName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a =>
                {
                    if (a.Source.Name == EventStreamTracing.ActivitySourceName && (string?)a.GetTagItem(EventStreamTracing.PipelineTag) == pipeline)
                    {
                        _stopped.Enqueue(a);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public List<Activity> Named(string operation) => [.. _stopped.Where(a => a.OperationName == operation)];

        public void Dispose() => _listener.Dispose();
    }
}
