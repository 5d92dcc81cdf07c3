using System.Collections.Concurrent;
using System.Diagnostics;

namespace EventStream.Redis.Tests;

/// <summary>Over Redis the trace context travels in the stream entry: a <c>traceparent</c> field beside <c>event</c>.</summary>
[Collection(RedisTests.Name)]
public sealed class StreamTracingTests(RedisServerFixture redis)
{
    private const string PublisherName = "EventStream.Redis.Tests.Publisher";
    private static readonly ActivitySource Publisher = new(PublisherName);

    private sealed record Hit(string Url, long Timestamp);

    [Fact]
    public async Task A_consumer_s_spans_and_dead_letters_join_the_trace_the_events_were_published_under()
    {
        var stream = "traced-" + Guid.NewGuid().ToString("N")[..8];
        var pipelineName = "traced-" + Guid.NewGuid().ToString("N")[..6];
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is EventStreamTracing.ActivitySourceName or PublisherName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var db = redis.Connection.GetDatabase();
        await db.StreamCreateConsumerGroupAsync(stream, "g", "0", createStream: true);
        var producer = new RedisStreamProducer<Hit>(redis.Connection, new RedisStreamOptions { Stream = stream });

        ActivityContext published;
        using (var request = Publisher.StartActivity("POST /hits")!)
        {
            published = request.Context;
            await producer.PublishAsync([new Hit("/ok", 1), new Hit("/bad", 2)]);
        }

        await producer.PublishAsync([new Hit("/untraced", 3)]);

        var entries = await db.StreamRangeAsync(stream);
        entries.Select(e => (string?)e["traceparent"]).Should().Equal($"00-{published.TraceId}-{published.SpanId}-01", $"00-{published.TraceId}-{published.SpanId}-01", null);

        await using var pipeline = PipelineBuilder.Create<Hit>(pipelineName, o => o.Retry = RetryOptions.None)
            .Sink("s", h => { if (h.Url != "/ok") { throw new IOException("down"); } })
            .Build();
        var source = new RedisStreamSource<Hit>(redis.Connection, pipeline, new RedisStreamSourceOptions
        {
            Stream = stream,
            Group = "g",
            Consumer = "c",
            KeyPrefix = "t" + Guid.NewGuid().ToString("N")[..6],
            MaxPollDelay = TimeSpan.FromMilliseconds(2),
        });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(stop.Token);
        await TestSupport.Eventually(() => pipeline.GetMetrics() is { DeadLettered: 2, InFlight: 0 }, "both failing events dead-lettered");
        await stop.CancelAsync();
        await run;
        await pipeline.CompleteAsync();

        var dead = (await pipeline.DeadLetters.ListAsync(pipelineName)).ToDictionary(e => ((Hit)e.Event!).Url, e => e.TraceParent);
        dead["/bad"].Should().StartWith($"00-{published.TraceId}-", "the dead letter keeps the trace of the request that published its event");
        dead["/untraced"].Should().NotStartWith($"00-{published.TraceId}-", "an event published outside that request is not put in its trace");

        // The run published under the request is received as a child of it; the ingest span is the receive span's child.
        var mine = stopped.Where(a => a.TraceId == published.TraceId).ToList();
        var receive = mine.Should().ContainSingle(a => a.OperationName == EventStreamTracing.Receive).Subject;
        receive.ParentSpanId.Should().Be(published.SpanId);
        receive.GetTagItem(EventStreamTracing.BatchSizeTag).Should().Be(2);
        var ingest = mine.Should().ContainSingle(a => a.OperationName == EventStreamTracing.Ingest).Subject;
        ingest.ParentSpanId.Should().Be(receive.SpanId);
        dead["/bad"].Should().Be($"00-{published.TraceId}-{ingest.SpanId}-01");
    }
}
