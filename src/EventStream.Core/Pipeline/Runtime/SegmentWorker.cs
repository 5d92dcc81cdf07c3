namespace EventStream;

/// <summary>The loop that serves one <see cref="Segment"/>; see <see cref="SegmentWorker{T}"/>.</summary>
internal abstract class SegmentWorker
{
    /// <summary>Runs until the segment's input is completed and drained and nothing is expected, or the pipeline is cancelled.</summary>
    public abstract Task RunAsync();
}
