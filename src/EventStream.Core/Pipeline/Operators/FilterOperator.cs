using EventStream.Metrics;
using EventStream.Retry;

namespace EventStream;

/// <summary>A filter stage: a dropped event counts as filtered.</summary>
internal sealed class FilterOperator<T> : StageOperator<T, T>
{
    private readonly Func<T, bool> _predicate;

    public FilterOperator(StageRuntime stage, Operator<T> next, Func<T, bool> predicate)
        : base(stage, next)
    {
        _predicate = predicate;
    }

    public override ValueTask ProcessAsync(T item, RetryState? state)
    {
        bool keep;
        try
        {
            keep = _predicate(item);
        }
        catch (Exception ex)
        {
            return Stage.FailAsync(this, item, ex, state);
        }

        if (keep)
        {
            state?.Ticket?.Succeeded();
            return Next.ProcessAsync(item, null);
        }

        Counts.Add(PipelineCount.Filtered);
        Stage.Pipeline.Partitioning?.OnFiltered(item);
        state?.Ticket?.Succeeded();
        return default;
    }
}
