using EventStream.DeadLetters;

namespace EventStream.Internal;

/// <summary>Where an event is in its retries at one stage; <see langword="null"/> for a first attempt.</summary>
internal sealed class RetryState
{
    public RetryState(int attempt, DateTimeOffset firstFailure, ReplayTicket? ticket)
    {
        Attempt = attempt;
        FirstFailure = firstFailure;
        Ticket = ticket;
    }

    /// <summary>The attempt about to be made (2 for the first retry).</summary>
    public int Attempt { get; }

    public DateTimeOffset FirstFailure { get; }

    public ReplayTicket? Ticket { get; }
}

/// <summary>A dead letter being replayed: completes when the event has passed its stage or failed again.</summary>
internal sealed class ReplayTicket
{
    private readonly TaskCompletionSource<bool> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ReplayTicket(DeadLetterEntry entry)
    {
        Entry = entry;
    }

    public DeadLetterEntry Entry { get; }

    public Task<bool> Outcome => _outcome.Task;

    public void Succeeded() => _outcome.TrySetResult(true);

    public void Failed() => _outcome.TrySetResult(false);
}

/// <summary>Work that re-enters a segment outside the batch flow: a retry or a replay.</summary>
internal abstract class WorkItem
{
    protected WorkItem(StageRuntime stage, long admittedAt)
    {
        Stage = stage;
        AdmittedAt = admittedAt;
    }

    public StageRuntime Stage { get; }

    public long AdmittedAt { get; }

    public abstract object? Item { get; }

    public abstract int AttemptsSoFar { get; }

    /// <summary>Whether the segment must wait for this item before it may finish (retries and replays; not ticks).</summary>
    public virtual bool IsPending => true;

    public abstract ValueTask RunAsync();
}

internal sealed class StageWorkItem<T> : WorkItem
{
    private readonly Operator<T> _op;
    private readonly T _item;
    private readonly RetryState? _state;

    public StageWorkItem(StageRuntime stage, Operator<T> op, T item, RetryState? state, long admittedAt)
        : base(stage, admittedAt)
    {
        _op = op;
        _item = item;
        _state = state;
    }

    public override object? Item => _item;

    public override int AttemptsSoFar => _state is null ? 0 : _state.Attempt - 1;

    public override ValueTask RunAsync() => _op.ProcessAsync(_item, _state);
}

/// <summary>An event that was still in flight when the pipeline was cancelled.</summary>
internal readonly record struct Leftover(StageRuntime Stage, object? Item, int Attempts);
