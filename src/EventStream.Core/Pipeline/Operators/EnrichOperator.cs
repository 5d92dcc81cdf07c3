using EventStream.Retry;

namespace EventStream;

/// <summary>An async enrich stage (parallelism 1): a call that completes synchronously costs no more than a transform; a slow one is awaited within the stage timeout.</summary>
internal sealed class EnrichOperator<TIn, TOut> : StageOperator<TIn, TOut>
{
    private readonly Func<TIn, CancellationToken, ValueTask<TOut>> _enrich;
    private readonly HandlerToken _token;

    public EnrichOperator(StageRuntime stage, Operator<TOut> next, Func<TIn, CancellationToken, ValueTask<TOut>> enrich)
        : base(stage, next)
    {
        _enrich = enrich;
        _token = new HandlerToken(stage.Pipeline.Token);
    }

    public override ValueTask ProcessAsync(TIn item, RetryState? state)
    {
        ValueTask<TOut> pending;
        try
        {
            pending = _enrich(item, _token.Token);
        }
        catch (Exception ex)
        {
            return Stage.FailAsync(this, item, ex, state);
        }

        return pending.IsCompletedSuccessfully ? Continue(item, pending.Result, state) : SlowAsync(item, pending, state);
    }

    private async ValueTask SlowAsync(TIn item, ValueTask<TOut> pending, RetryState? state)
    {
        TOut result;
        try
        {
            result = await Stage.AwaitWithTimeoutAsync(pending, _token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await Stage.FailAsync(this, item, ex, state).ConfigureAwait(false);
            return;
        }

        await Continue(item, result, state).ConfigureAwait(false);
    }
}
