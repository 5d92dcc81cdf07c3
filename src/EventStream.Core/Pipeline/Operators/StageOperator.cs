namespace EventStream.Internal;

/// <summary>
/// One stage's logic inside a segment's loop. Operators push each result straight into the next operator, so
/// consecutive synchronous stages run as one loop; every method returns a <see cref="ValueTask"/> that is already
/// completed on the synchronous path, so the loop allocates nothing per event. Operators never throw for a failing
/// handler: failures go to <see cref="StageRuntime.FailAsync{T}"/>.
/// </summary>
internal abstract class OperatorBase
{
    /// <summary>Called after each batch: pass on anything held back (pending parallel calls, a part-filled output batch).</summary>
    public abstract ValueTask FlushAsync();

    /// <summary>After a cancellation: hand over the events this operator still holds.</summary>
    public virtual void CollectLeftovers(List<Leftover> leftovers)
    {
    }

    /// <summary>The segment's input is complete and drained: emit what is held back (windows fire) and pass it on.</summary>
    public virtual ValueTask CompleteAsync() => default;

    /// <summary>The pipeline has finished or was cancelled: stop timers.</summary>
    public virtual void Stop()
    {
    }
}

internal abstract class Operator<T> : OperatorBase
{
    public abstract ValueTask ProcessAsync(T item, RetryState? state);
}

internal abstract class StageOperator<TIn, TOut> : Operator<TIn>
{
    protected StageOperator(StageRuntime stage, Operator<TOut>? next)
    {
        Stage = stage;
        Next = next!;
        stage.Injector = Inject;
    }

    protected StageRuntime Stage { get; }

    protected Operator<TOut> Next { get; }

    public override ValueTask FlushAsync() => Next.FlushAsync();

    public override ValueTask CompleteAsync() => Next is null ? default : Next.CompleteAsync();

    /// <summary>The handler succeeded: settle a replay and pass the result on.</summary>
    protected ValueTask Continue(TIn item, TOut result, RetryState? state)
    {
        if (result is null && !Stage.AllowNull)
        {
            return Stage.FailAsync(this, item, Stage.NullResult(), state);
        }

        state?.Ticket?.Succeeded();
        return Next.ProcessAsync(result, null);
    }

    private bool Inject(object? item, ReplayTicket ticket)
    {
        if (item is not TIn typed)
        {
            if (item is not null || default(TIn) is not null)
            {
                return false;
            }

            typed = default!;
        }

        return Stage.Segment.TryInject(new StageWorkItem<TIn>(Stage, this, typed, new RetryState(1, ticket.Entry.FirstFailure, ticket), Stage.Pipeline.Time.GetTimestamp()));
    }
}

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
#pragma warning disable CA1031 // User code: any failure is retried or dead-lettered.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Stage.FailAsync(this, item, ex, state);
        }

        return Continue(item, result, state);
    }
}

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
#pragma warning disable CA1031 // User code: any failure is retried or dead-lettered.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Stage.FailAsync(this, item, ex, state);
        }

        if (keep)
        {
            state?.Ticket?.Succeeded();
            return Next.ProcessAsync(item, null);
        }

        Stage.Segment.Counts.Filtered++;
        state?.Ticket?.Succeeded();
        return default;
    }
}

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
#pragma warning disable CA1031 // User code: any failure is retried or dead-lettered.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _buffer.Clear();
            return Stage.FailAsync(this, item, ex, state);
        }

        state?.Ticket?.Succeeded();
        var counts = Stage.Segment;
        if (_buffer.Count == 0)
        {
            counts.Counts.Filtered++;
            return default;
        }

        counts.Counts.FannedOut += _buffer.Count - 1;
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
#pragma warning disable CA1031 // User code: any failure is retried or dead-lettered.
        catch (Exception ex)
#pragma warning restore CA1031
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
#pragma warning disable CA1031 // User code: any failure is retried or dead-lettered.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await Stage.FailAsync(this, item, ex, state).ConfigureAwait(false);
            return;
        }

        await Continue(item, result, state).ConfigureAwait(false);
    }
}

/// <summary>
/// An enrich stage with parallelism above 1: up to that many calls in flight, results passed on in input order.
/// </summary>
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
#pragma warning disable CA1031 // User code: any failure is retried or dead-lettered.
        catch (Exception ex)
#pragma warning restore CA1031
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
            leftovers.Add(new Leftover(Stage, inFlight.Item, inFlight.State?.Attempt - 1 ?? 0));
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
#pragma warning disable CA1031 // User code: any failure is retried or dead-lettered.
            catch (Exception ex)
#pragma warning restore CA1031
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
#pragma warning disable CA1031 // User code: any failure is retried or dead-lettered.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Stage.FailAsync(this, item, ex, state);
        }

        Stage.Segment.Counts.Delivered++;
        state?.Ticket?.Succeeded();
        return default;
    }
}

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
#pragma warning disable CA1031 // User code: any failure is retried or dead-lettered.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Stage.FailAsync(this, item, ex, state);
        }

        if (pending.IsCompletedSuccessfully)
        {
            Stage.Segment.Counts.Delivered++;
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
#pragma warning disable CA1031 // User code: any failure is retried or dead-lettered.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await Stage.FailAsync(this, item, ex, state).ConfigureAwait(false);
            return;
        }

        Stage.Segment.Counts.Delivered++;
        state?.Ticket?.Succeeded();
    }
}

/// <summary>The end of a segment: gathers results into batches for the next segment's queue.</summary>
internal sealed class ForwardOperator<T> : Operator<T>
{
    private readonly Segment _from;
    private readonly Segment<T> _to;
    private readonly int _batchSize;
    private Batch<T>? _buffer;

    public ForwardOperator(Segment from, Segment<T> to, int batchSize)
    {
        _from = from;
        _to = to;
        _batchSize = batchSize;
    }

    public override ValueTask ProcessAsync(T item, RetryState? state)
    {
        var buffer = _buffer ??= Batch<T>.Rent(_batchSize, _from.CurrentAdmittedAt);
        buffer.Add(item);
        return buffer.Count >= _batchSize ? FlushAsync() : default;
    }

    public override ValueTask FlushAsync()
    {
        if (_buffer is not { Count: > 0 } buffer)
        {
            return default;
        }

        _buffer = null;
        var write = _to.Queue.WriteBatchAsync(buffer, _from.Pipeline.Token);
        return write.IsCompletedSuccessfully ? default : AwaitWriteAsync(write, buffer);
    }

    public override void CollectLeftovers(List<Leftover> leftovers)
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            for (var i = 0; i < buffer.Count; i++)
            {
                leftovers.Add(new Leftover(_to.Head, buffer.Items[i], 0));
            }
        }
    }

    private async ValueTask AwaitWriteAsync(ValueTask write, Batch<T> buffer)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The pipeline is being cancelled: the batch never entered the queue; hand it over for dead-lettering.
            _buffer = buffer;
            throw;
        }
    }
}
