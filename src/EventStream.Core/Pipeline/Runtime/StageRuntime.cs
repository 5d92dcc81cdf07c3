using EventStream.DeadLetters;
using EventStream.Retry;

namespace EventStream.Internal;

internal enum StageKind
{
    Transform,
    Filter,
    Enrich,
    FanOut,
    Window,
    Sink,
}

/// <summary>A stage as it runs: its resolved options, its segment and its failure handling.</summary>
internal sealed class StageRuntime
{
    private long _retries;
    private long _deadLettered;

    public StageRuntime(PipelineCore pipeline, string name, StageKind kind, RetryOptions retry, TimeSpan timeout, bool allowNull, int index)
    {
        Pipeline = pipeline;
        Name = name;
        Kind = kind;
        Retry = retry;
        Timeout = timeout;
        AllowNull = allowNull;
        Index = index;
    }

    public PipelineCore Pipeline { get; }

    public string Name { get; }

    public StageKind Kind { get; }

    public RetryOptions Retry { get; }

    public TimeSpan Timeout { get; }

    public bool AllowNull { get; }

    public int Index { get; }

    public Segment Segment { get; set; } = null!;

    /// <summary>Re-enters a dead-lettered event at this stage; set when the stage's operator is created.</summary>
    public Func<object?, ReplayTicket, bool>? Injector { get; set; }

    /// <summary>The stage's watermark in epoch ms, for window stages.</summary>
    public Func<long>? Watermark { get; set; }

    public long Retries => Volatile.Read(ref _retries);

    public long DeadLettered => Volatile.Read(ref _deadLettered);

    public StageResultNullException NullResult() =>
        new($"Stage '{Name}' returned null; set StageOptions.AllowNullResult to pass null results on.");

    /// <summary>An attempt at this stage failed: retry it later, or dead-letter it.</summary>
    public ValueTask FailAsync<T>(Operator<T> op, T item, Exception exception, RetryState? state)
    {
        var pipeline = Pipeline;
        var attempt = state?.Attempt ?? 1;
        var now = pipeline.Time.GetUtcNow();
        var canceled = pipeline.Token.IsCancellationRequested;
        if (!canceled && attempt < Retry.MaxAttempts && ShouldRetry(exception))
        {
            var next = new RetryState(attempt + 1, state?.FirstFailure ?? now, state?.Ticket);
            var segment = Segment;
            segment.Counts.Retries++;
            Interlocked.Increment(ref _retries);
            var delay = Retry.GetDelay(attempt + 1);
            pipeline.Log.Retrying(Name, attempt, delay, exception);
            segment.Schedule(new StageWorkItem<T>(this, op, item, next, segment.CurrentAdmittedAt), delay);
            return default;
        }

        return DeadLetterAsync(item, exception, attempt, state?.FirstFailure ?? now, now, state?.Ticket, canceled);
    }

    private async ValueTask DeadLetterAsync(object? item, Exception exception, int attempts, DateTimeOffset first, DateTimeOffset last, ReplayTicket? ticket, bool canceled)
    {
        var reason = canceled && exception is OperationCanceledException ? DeadLetterReason.Canceled : DeadLetterReason.Failed;
        Segment.Counts.DeadLettered++;
        Interlocked.Increment(ref _deadLettered);
        if (ticket is not null)
        {
            var original = ticket.Entry;
            var entry = original with
            {
                Reason = reason,
                ExceptionType = exception.GetType().FullName,
                Message = exception.Message,
                Attempts = original.Attempts + attempts,
                LastFailure = last,
                Replays = original.Replays + 1,
                Event = item,
            };
            await Pipeline.Store.ReplaceAsync(entry, CancellationToken.None).ConfigureAwait(false);
            Pipeline.Log.DeadLettered(Name, attempts, exception);
            ticket.Failed();
            return;
        }

        var created = new DeadLetterEntry
        {
            Id = Pipeline.NewDeadLetterId(),
            Pipeline = Pipeline.Name,
            Stage = Name,
            Reason = reason,
            ExceptionType = exception.GetType().FullName,
            Message = exception.Message,
            Attempts = attempts,
            FirstFailure = first,
            LastFailure = last,
            Event = item,
        };
        Pipeline.Log.DeadLettered(Name, attempts, exception);
        await Pipeline.RecordAsync(created).ConfigureAwait(false);
    }

    /// <summary>Awaits a handler that did not finish synchronously, within the stage timeout.</summary>
    public async ValueTask<T> AwaitWithTimeoutAsync<T>(ValueTask<T> pending, HandlerToken token)
    {
        if (Timeout == System.Threading.Timeout.InfiniteTimeSpan)
        {
            return await pending.ConfigureAwait(false);
        }

        try
        {
            return await pending.AsTask().WaitAsync(Timeout, Pipeline.Time, Pipeline.Token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw TimedOut(token);
        }
    }

    /// <inheritdoc cref="AwaitWithTimeoutAsync{T}(ValueTask{T}, HandlerToken)"/>
    public async ValueTask AwaitWithTimeoutAsync(ValueTask pending, HandlerToken token)
    {
        if (Timeout == System.Threading.Timeout.InfiniteTimeSpan)
        {
            await pending.ConfigureAwait(false);
            return;
        }

        try
        {
            await pending.AsTask().WaitAsync(Timeout, Pipeline.Time, Pipeline.Token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw TimedOut(token);
        }
    }

    /// <summary>A handler passed its timeout: cancel the token it was given and say which stage and limit.</summary>
    private TimeoutException TimedOut(HandlerToken token)
    {
        token.Abandon();
        return new TimeoutException($"Stage '{Name}' did not finish within its timeout of {Timeout.TotalMilliseconds:0.###} ms.");
    }

    private bool ShouldRetry(Exception exception)
    {
        try
        {
            return Retry.ShouldRetry(exception);
        }
#pragma warning disable CA1031 // A faulty filter must not kill the worker: treat the failure as permanent.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
    }
}

/// <summary>
/// The token handed to async handlers: the pipeline's token, replaced by a fresh linked one after a timeout
/// cancelled the previous one (so one hung call does not cancel the next).
/// </summary>
internal sealed class HandlerToken
{
    private readonly CancellationToken _pipeline;
    private CancellationTokenSource _source;

    public HandlerToken(CancellationToken pipeline)
    {
        _pipeline = pipeline;
        _source = CancellationTokenSource.CreateLinkedTokenSource(pipeline);
    }

    public CancellationToken Token => _source.Token;

    public void Abandon()
    {
        var old = _source;
        _source = CancellationTokenSource.CreateLinkedTokenSource(_pipeline);
        old.Cancel();
        old.Dispose();
    }
}
