using EventStream.Retry;

namespace EventStream;

/// <summary>A synchronous transform stage.</summary>
internal sealed class TransformOperator<TIn, TOut> : StageOperator<TIn, TOut>
{
    private readonly Func<TIn, TOut> _transform;

    public TransformOperator(StageRuntime stage, Operator<TOut> next, Func<TIn, TOut> transform)
        : base(stage, next)
    {
        _transform = transform;
    }

    public override ValueTask ProcessAsync(TIn item, RetryState? state)
    {
        TOut result;
        try
        {
            result = _transform(item);
        }
        catch (Exception ex)
        {
            return Stage.FailAsync(this, item, ex, state);
        }

        return Continue(item, result, state);
    }
}
