using EventStream.Metrics;
using EventStream.Retry;
using System.Diagnostics;

namespace EventStream;

/// <summary>
/// A stage as it runs: its resolved options, the segment whose worker runs it, and what happens when its handler
/// fails — a retry (<see cref="RetryScheduler"/>) or a dead letter (<see cref="DeadLetters.DeadLetterRecorder"/>).
/// </summary>
[DebuggerDisplay("{Kind} {Name,nq}")]
internal sealed class StageRuntime
{
    private long _retries;
    private long _deadLettered;

    public StageRuntime(PipelineContext pipeline, Segment segment, string name, StageKind kind, RetryOptions retry, TimeSpan timeout, bool allowNull, bool headsSegment)
    {
        Pipeline = pipeline;
        Segment = segment;
        Name = name;
        Kind = kind;
        Retry = retry;
        Timeout = timeout;
        AllowNull = allowNull;
        HeadsSegment = headsSegment;
    }

    public PipelineContext Pipeline { get; }

    /// <summary>The segment whose worker runs this stage.</summary>
    public Segment Segment { get; }

    public string Name { get; }

    public StageKind Kind { get; }

    public RetryOptions Retry { get; }

    public TimeSpan Timeout { get; }

    public bool AllowNull { get; }

    /// <summary>Whether the segment's queue is in front of this stage (it is the segment's first stage).</summary>
    public bool HeadsSegment { get; }

    public long Retries => Volatile.Read(ref _retries);

    public long DeadLettered => Volatile.Read(ref _deadLettered);

    public string KindName => Kind.DisplayName();

    public StageResultNullException NullResult() =>
        new($"Stage '{Name}' returned null; set StageOptions.AllowNullResult to pass null results on.");

    /// <summary>An attempt at this stage failed: retry it later, or dead-letter it.</summary>
    public ValueTask FailAsync<T>(Operator<T> op, T item, Exception exception, RetryState? state)
    {
        var now = Pipeline.Time.GetUtcNow();
        if (Segment.Retries.TryRetry(this, op, item, exception, state, now))
        {
            return default;
        }

        CountDeadLetter();
        return Pipeline.DeadLetters.FailedAsync(Name, item, exception, state?.Attempt ?? 1, state?.FirstFailure ?? now, state?.Ticket, Segment.CurrentTrace);
    }

    /// <summary>Counts a retry of this stage, in the stage's metrics and the pipeline's.</summary>
    public void CountRetry()
    {
        Segment.Counts.Add(PipelineCount.Retries);
        Interlocked.Increment(ref _retries);
    }

    /// <summary>Counts a dead letter of this stage, in the stage's metrics and the pipeline's.</summary>
    public void CountDeadLetter()
    {
        Segment.Counts.Add(PipelineCount.DeadLettered);
        Interlocked.Increment(ref _deadLettered);
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
}
