using EventStream.Metrics;
using EventStream.Retry;

namespace EventStream;

/// <summary>A fan-out stage: the results are gathered before any is passed on, so a handler that throws half-way emits nothing and can be retried cleanly.</summary>
internal sealed class FanOutOperator<TIn, TOut> : StageOperator<TIn, TOut>
{
    private readonly Func<TIn, IEnumerable<TOut>> _fanOut;
    private readonly List<TOut> _buffer = [];

    public FanOutOperator(StageRuntime stage, Operator<TOut> next, Func<TIn, IEnumerable<TOut>> fanOut)
        : base(stage, next)
    {
        _fanOut = fanOut;
    }

    public override ValueTask ProcessAsync(TIn item, RetryState? state)
    {
        // Materialise first, so a handler that throws half-way emits nothing and can be retried cleanly.
        _buffer.Clear();
        try
        {
            var results = _fanOut(item) ?? throw Stage.NullResult();
            foreach (var result in results)
            {
                if (result is null && !Stage.AllowNull)
                {
                    throw Stage.NullResult();
                }

                _buffer.Add(result);
            }
        }
        catch (Exception ex)
        {
            _buffer.Clear();
            return Stage.FailAsync(this, item, ex, state);
        }

        state?.Ticket?.Succeeded();
        if (_buffer.Count == 0)
        {
            Counts.Add(PipelineCount.Filtered);
            Stage.Pipeline.Partitioning?.OnFiltered(item);
            return default;
        }

        Counts.Add(PipelineCount.FannedOut, _buffer.Count - 1);
        if (_buffer.Count == 1)
        {
            var only = _buffer[0];
            _buffer.Clear();
            return Next.ProcessAsync(only, null);
        }

        var children = _buffer.ToArray();
        _buffer.Clear();
        for (var i = 0; i < children.Length; i++)
        {
            var pending = Next.ProcessAsync(children[i], null);
            if (!pending.IsCompletedSuccessfully)
            {
                return PushRestAsync(pending, children, i + 1);
            }
        }

        return default;
    }

    private async ValueTask PushRestAsync(ValueTask pending, TOut[] children, int from)
    {
        await pending.ConfigureAwait(false);
        for (var i = from; i < children.Length; i++)
        {
            await Next.ProcessAsync(children[i], null).ConfigureAwait(false);
        }
    }
}
