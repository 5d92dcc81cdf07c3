using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Threading.Tasks.Dataflow;

namespace EventStream.Benchmarks;

/// <summary>
/// The same four stages (transform, filter, enrich, sink) run four ways. Every variant builds its pipeline inside the
/// call, feeds all the events and waits until the sink has seen the last one.
/// </summary>
public static class Variants
{
    /// <summary>Queue capacity of every bounded queue / block, in events (EventStream's default).</summary>
    public const int Capacity = 10_000;

    /// <summary>Events per queue hop in EventStream (its default).</summary>
    public const int BatchSize = 512;

    /// <summary>Events per producer call to <c>WriteBatchAsync</c>.</summary>
    public const int ProducerChunk = 4_096;

    /// <summary>
    /// EventStream with its defaults: the four stages chained into one loop behind the bounded input queue (the
    /// enrich lookup completes synchronously, so it costs no more than a transform).
    /// </summary>
    public static Task<PipelineMetrics> EventStreamAsync(Workload workload, UrlMinuteCounts sink) =>
        EventStreamAsync(workload, sink, sinkCapacity: null);

    /// <summary>
    /// EventStream with the sink on a worker of its own (<c>StageOptions.Capacity</c> starts a new segment), so the
    /// two segments run on both cores.
    /// </summary>
    public static Task<PipelineMetrics> EventStreamTwoSegmentsAsync(Workload workload, UrlMinuteCounts sink) =>
        EventStreamAsync(workload, sink, sinkCapacity: Capacity);

    private static async Task<PipelineMetrics> EventStreamAsync(Workload workload, UrlMinuteCounts sink, int? sinkCapacity)
    {
        var pipeline = PipelineBuilder.Create<ClickEvent>("clicks", o =>
            {
                o.Capacity = Capacity;
                o.BatchSize = BatchSize;
            })
            .Transform("normalise", workload.Normalise)
            .Filter("drop-bots", workload.Keep)
            .Enrich("region", workload.Enrich)
            .Sink("count", sink.Add, new StageOptions { Capacity = sinkCapacity })
            .Build();
        await using (pipeline)
        {
            var events = workload.Events.AsMemory();
            for (var offset = 0; offset < events.Length; offset += ProducerChunk)
            {
                await pipeline.WriteBatchAsync(events.Slice(offset, Math.Min(ProducerChunk, events.Length - offset)));
            }

            await pipeline.CompleteAsync();
            return pipeline.GetMetrics();
        }
    }

    /// <summary>
    /// TPL Dataflow: bounded TransformBlock → (link predicate; the dropped ones to a NullTarget) → TransformBlock →
    /// ActionBlock. The NullTarget link needs the negated predicate: unconditioned, it swallows the events the full
    /// enrich block postpones (the correctness check caught exactly that).
    /// </summary>
    public static async Task DataflowAsync(Workload workload, UrlMinuteCounts sink)
    {
        var block = new ExecutionDataflowBlockOptions { BoundedCapacity = Capacity };
        var propagate = new DataflowLinkOptions { PropagateCompletion = true };
        var normalise = new TransformBlock<ClickEvent, PageView>(workload.Normalise, block);
        var enrich = new TransformBlock<PageView, EnrichedView>(workload.EnrichNow, block);
        var count = new ActionBlock<EnrichedView>(sink.Add, block);
        using (normalise.LinkTo(enrich, propagate, workload.Keep))
        using (normalise.LinkTo(DataflowBlock.NullTarget<PageView>(), view => !workload.Keep(view)))
        using (enrich.LinkTo(count, propagate))
        {
            foreach (var click in workload.Events)
            {
                if (!await normalise.SendAsync(click))
                {
                    throw new InvalidOperationException("Dataflow declined an event.");
                }
            }

            normalise.Complete();
            await count.Completion;
        }
    }

    /// <summary>System.Reactive: Subject → Select → Where → Select → Subscribe (synchronous, on the producer's thread).</summary>
    public static void Rx(Workload workload, UrlMinuteCounts sink)
    {
        using var subject = new Subject<ClickEvent>();
        using var subscription = subject
            .Select(workload.Normalise)
            .Where(workload.Keep)
            .Select(workload.EnrichNow)
            .Subscribe(sink.Add);
        foreach (var click in workload.Events)
        {
            subject.OnNext(click);
        }

        subject.OnCompleted();
    }

    /// <summary>The limit: one hand-written loop, no queues, no delegates.</summary>
    public static void Fused(Workload workload, UrlMinuteCounts sink)
    {
        foreach (var click in workload.Events)
        {
            var view = workload.Normalise(click);
            if (!workload.Keep(view))
            {
                continue;
            }

            sink.Add(workload.EnrichNow(view));
        }
    }
}
