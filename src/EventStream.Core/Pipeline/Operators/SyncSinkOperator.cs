using EventStream.Metrics;
using EventStream.Retry;

namespace EventStream;

/// <summary>A synchronous sink: one delegate call per event, nothing to await.</summary>
internal sealed class SyncSinkOperator<T> : StageOperator<T, T>
{
    private readonly Action<T> _sink;

    public SyncSinkOperator(StageRuntime stage, Action<T> sink)
        : base(stage, null)
    {
        _sink = sink;
    }

    public override ValueTask FlushAsync() => default;

    public override ValueTask ProcessAsync(T item, RetryState? state)
    {
        try
        {
            _sink(item);
        }
        catch (Exception ex)
        {
            return Stage.FailAsync(this, item, ex, state);
        }

        Counts.Add(PipelineCount.Delivered);
        state?.Ticket?.Succeeded();
        return default;
    }
}
