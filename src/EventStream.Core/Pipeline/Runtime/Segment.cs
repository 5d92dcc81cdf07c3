using EventStream.Metrics;
using EventStream.Retry;
using System.Diagnostics;

namespace EventStream;

/// <summary>
/// A run of stages served by one worker (<see cref="SegmentWorker{T}"/>): the queue in front of its first stage, a side
/// door for retries, replays and ticks (<see cref="Inbox"/>), the retries waiting for their back-off, and the counts
/// the worker gathers. Stages after the first are chained into the worker's loop, with no queue between them.
/// </summary>
[DebuggerDisplay("Segment at {HeadStage,nq}: {QueueDepth}/{Capacity}")]
internal abstract class Segment
{
    protected Segment(PipelineContext pipeline, string headStage, bool recordsLatency)
    {
        Pipeline = pipeline;
        HeadStage = headStage;
        RecordsLatency = recordsLatency;
        Inbox = new WorkInbox(Signal, pipeline.Token);
        Retries = new RetryScheduler(pipeline.Time, Inbox);
    }

    public PipelineContext Pipeline { get; }

    /// <summary>The name of the stage whose queue this segment reads.</summary>
    public string HeadStage { get; }

    /// <summary>Whether the sink runs in this segment, so the worker records end-to-end latency.</summary>
    public bool RecordsLatency { get; }

    /// <summary>Wakes the worker: set by the queue and by the inbox.</summary>
    public WorkSignal Signal { get; } = new();

    public WorkInbox Inbox { get; }

    public RetryScheduler Retries { get; }

    /// <summary>Counts gathered by the worker, published after each batch.</summary>
    public WorkerCounts Counts { get; } = new();

    /// <summary>Admission time of the batch or work item being processed (for latency, and inherited by output batches and retries).</summary>
    public long CurrentAdmittedAt { get; set; }

    /// <summary>Trace context of the batch or work item being processed (inherited by output batches, retries and dead letters).</summary>
    public ActivityContext CurrentTrace { get; set; }

    public abstract long QueueDepth { get; }

    public abstract int Capacity { get; }

    /// <summary>No more input: the worker finishes once the queue is drained and nothing is expected in the inbox.</summary>
    public abstract void CompleteInput();

    /// <summary>After a cancellation, with the worker stopped: everything still queued, waiting for a retry or in the inbox.</summary>
    public virtual void CollectLeftovers(List<Leftover> leftovers)
    {
        foreach (var work in Retries.DrainAll())
        {
            leftovers.Add(work.ToLeftover());
        }

        while (Inbox.TryTake(out var work))
        {
            if (work.IsExpected)
            {
                leftovers.Add(work.ToLeftover());
            }
        }
    }
}
