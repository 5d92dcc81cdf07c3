using EventStream.Metrics;
using EventStream.Retry;

namespace EventStream;

/// <summary>The async sink: completing counts the event as delivered.</summary>
internal sealed class SinkOperator<T> : StageOperator<T, T>
{
    private readonly Func<T, CancellationToken, ValueTask> _sink;
    private readonly HandlerToken _token;

    public SinkOperator(StageRuntime stage, Func<T, CancellationToken, ValueTask> sink)
        : base(stage, null)
    {
        _sink = sink;
        _token = new HandlerToken(stage.Pipeline.Token);
    }

    public override ValueTask FlushAsync() => default;

    public override ValueTask ProcessAsync(T item, RetryState? state)
    {
        ValueTask pending;
        try
        {
            pending = _sink(item, _token.Token);
        }
        catch (Exception ex)
        {
            return Stage.FailAsync(this, item, ex, state);
        }

        if (pending.IsCompletedSuccessfully)
        {
            Counts.Add(PipelineCount.Delivered);
            state?.Ticket?.Succeeded();
            return default;
        }

        return SlowAsync(item, pending, state);
    }

    private async ValueTask SlowAsync(T item, ValueTask pending, RetryState? state)
    {
        try
        {
            await Stage.AwaitWithTimeoutAsync(pending, _token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await Stage.FailAsync(this, item, ex, state).ConfigureAwait(false);
            return;
        }

        Counts.Add(PipelineCount.Delivered);
        state?.Ticket?.Succeeded();
    }
}
