namespace EventStream.Retry;

/// <summary>
/// Retries for one segment: decides whether a failed attempt is tried again (<see cref="RetryOptions.AllowsRetry"/>),
/// counts and logs the retry, and parks it in a <see cref="DelayQueue"/> for its back-off. When the back-off is over
/// the retry goes into the segment's <see cref="WorkInbox"/> and re-enters the failing stage only, so the events behind
/// it go on and earlier stages do not repeat their side effects.
/// </summary>
internal sealed class RetryScheduler : IDisposable
{
    private readonly WorkInbox _inbox;
    private readonly DelayQueue _delayed;

    public RetryScheduler(TimeProvider time, WorkInbox inbox)
    {
        _inbox = inbox;
        _delayed = new DelayQueue(time, inbox.PostAll);
    }

    /// <summary>Schedules the next attempt when the stage's options allow one; <see langword="false"/> when the failure is final.</summary>
    public bool TryRetry<T>(StageRuntime stage, Operator<T> op, T item, Exception exception, RetryState? state, DateTimeOffset now)
    {
        var attempt = state?.Attempt ?? 1;
        if (stage.Pipeline.Token.IsCancellationRequested || !stage.Retry.AllowsRetry(attempt, exception))
        {
            return false;
        }

        var delay = stage.Retry.GetDelay(attempt + 1);
        stage.CountRetry();
        stage.Pipeline.Log.Retrying(stage.Name, attempt, delay, exception);
        var next = new RetryState(attempt + 1, state?.FirstFailure ?? now, state?.Ticket);
        var work = new StageWorkItem<T>(stage, op, item, next, stage.Segment.CurrentAdmittedAt) { Trace = stage.Segment.CurrentTrace };
        _inbox.Expect();
        if (delay <= TimeSpan.Zero)
        {
            _inbox.Post(work);
        }
        else
        {
            _delayed.Schedule(work, delay);
        }

        return true;
    }

    /// <summary>After a cancellation: the retries still waiting for their back-off.</summary>
    public List<WorkItem> DrainAll() => _delayed.DrainAll();

    public void Dispose() => _delayed.Dispose();
}
