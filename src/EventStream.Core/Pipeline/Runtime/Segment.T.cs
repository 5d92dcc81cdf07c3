using EventStream.Metrics;

namespace EventStream;

/// <summary>A segment whose first stage takes <typeparamref name="T"/>.</summary>
/// <typeparam name="T">The event type of its queue.</typeparam>
internal sealed class Segment<T> : Segment
{
    public Segment(PipelineContext pipeline, string headStage, int capacity, PipelineCounters? admissions, bool recordsLatency)
        : base(pipeline, headStage, recordsLatency)
    {
        Queue = new StageQueue<T>(capacity, pipeline.Options.BatchSize, pipeline.Time, Signal, admissions);
    }

    public StageQueue<T> Queue { get; }

    public override long QueueDepth => Queue.Count;

    public override int Capacity => Queue.Capacity;

    public override void CompleteInput() => Queue.Complete();

    public override void CollectLeftovers(List<Leftover> leftovers)
    {
        base.CollectLeftovers(leftovers);
        var items = new List<T>();
        Queue.DrainTo(items);
        foreach (var item in items)
        {
            leftovers.Add(new Leftover(HeadStage, item, 0));
        }
    }
}
