using EventStream.Retry;

namespace EventStream;

/// <summary>An enrich stage with parallelism above 1: up to that many calls in flight, results passed on in input order.</summary>
internal sealed class ParallelEnrichOperator<TIn, TOut> : StageOperator<TIn, TOut>
{
    private readonly Func<TIn, CancellationToken, ValueTask<TOut>> _enrich;
    private readonly Queue<InFlight> _window = new();
    private readonly Stack<HandlerToken> _tokens = new();
    private readonly int _parallelism;

    public ParallelEnrichOperator(StageRuntime stage, Operator<TOut> next, Func<TIn, CancellationToken, ValueTask<TOut>> enrich, int parallelism)
        : base(stage, next)
    {
        _enrich = enrich;
        _parallelism = parallelism;
    }

    public override ValueTask ProcessAsync(TIn item, RetryState? state)
    {
        // One token per slot, reused while it is not cancelled (a timeout replaces it), so a call costs no registration.
        var token = _tokens.Count > 0 ? _tokens.Pop() : new HandlerToken(Stage.Pipeline.Token);
        ValueTask<TOut> call;
        try
        {
            var pending = _enrich(item, token.Token);
            call = pending.IsCompleted ? pending : Stage.AwaitWithTimeoutAsync(pending, token);
        }
        catch (Exception ex)
        {
            call = ValueTask.FromException<TOut>(ex);
        }

        _window.Enqueue(new InFlight(item, state, token, call));
        return _window.Count >= _parallelism ? DrainAsync(_parallelism - 1) : default;
    }

    public override async ValueTask FlushAsync()
    {
        await DrainAsync(0).ConfigureAwait(false);
        await Next.FlushAsync().ConfigureAwait(false);
    }

    public override void CollectLeftovers(List<Leftover> leftovers)
    {
        while (_window.TryDequeue(out var inFlight))
        {
            leftovers.Add(new Leftover(Stage.Name, inFlight.Item, inFlight.State?.Attempt - 1 ?? 0));
        }
    }

    private async ValueTask DrainAsync(int keep)
    {
        while (_window.Count > keep)
        {
            var head = _window.Peek();
            TOut result;
            try
            {
                result = await head.Call.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _window.Dequeue();
                _tokens.Push(head.Token);
                await Stage.FailAsync(this, head.Item, ex, head.State).ConfigureAwait(false);
                continue;
            }

            _window.Dequeue();
            _tokens.Push(head.Token);
            await Continue(head.Item, result, head.State).ConfigureAwait(false);
        }
    }

    private readonly record struct InFlight(TIn Item, RetryState? State, HandlerToken Token, ValueTask<TOut> Call);
}
