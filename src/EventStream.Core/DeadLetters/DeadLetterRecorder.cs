using System.Diagnostics;

namespace EventStream.DeadLetters;

/// <summary>
/// The one place a pipeline builds and records dead letters: a failure whose retries are spent (or that is permanent),
/// a late event, an event still in flight when the pipeline was cancelled, and a replay that failed again (which
/// re-records the entry it came from instead of adding one). A wait for room in the store is given up when the pipeline
/// is cancelled, and the entry is then added past capacity: nothing admitted is lost.
/// </summary>
[DebuggerDisplay("Dead letters of {_pipeline,nq}")]
internal sealed class DeadLetterRecorder
{
    private readonly string _pipeline;
    private readonly TimeProvider _time;
    private readonly PipelineLog _log;
    private readonly CancellationToken _pipelineToken;
    private readonly string _idPrefix = Guid.NewGuid().ToString("N")[..8];
    private long _nextId;

    public DeadLetterRecorder(string pipeline, IDeadLetterStore store, TimeProvider time, PipelineLog log, CancellationToken pipelineToken)
    {
        _pipeline = pipeline;
        Store = store;
        _time = time;
        _log = log;
        _pipelineToken = pipelineToken;
    }

    public IDeadLetterStore Store { get; }

    /// <summary>A stage's handler failed for good: a new entry, or the replayed entry re-recorded.</summary>
    /// <param name="stage">The stage.</param>
    /// <param name="item">The event as it entered the stage.</param>
    /// <param name="exception">The last failure.</param>
    /// <param name="attempts">The attempts made this time.</param>
    /// <param name="firstFailure">When the event first failed at the stage.</param>
    /// <param name="ticket">The replay the event came back by, if any.</param>
    /// <param name="trace">The trace context the event was admitted under, or none.</param>
    public async ValueTask FailedAsync(string stage, object? item, Exception exception, int attempts, DateTimeOffset firstFailure, ReplayTicket? ticket, ActivityContext trace)
    {
        var reason = _pipelineToken.IsCancellationRequested && exception is OperationCanceledException ? DeadLetterReason.Canceled : DeadLetterReason.Failed;
        var now = _time.GetUtcNow();
        if (ticket is not null)
        {
            var original = ticket.Entry;
            _log.DeadLettered(stage, reason, original.Id, original.Attempts + attempts, exception);
            await Store.ReplaceAsync(original with
            {
                Reason = reason,
                ExceptionType = exception.GetType().FullName,
                Message = exception.Message,
                Attempts = original.Attempts + attempts,
                LastFailure = now,
                Replays = original.Replays + 1,
                Event = item,
            }, CancellationToken.None).ConfigureAwait(false);
            ticket.Failed();
            return;
        }

        var entry = Create(stage, reason, exception.GetType().FullName, exception.Message, attempts, firstFailure, now, item, trace);
        _log.DeadLettered(stage, reason, entry.Id, attempts, exception);
        await RecordAsync(entry).ConfigureAwait(false);
    }

    /// <summary>An event added to no window, with no late output to take it (or a late output that failed).</summary>
    /// <param name="stage">The window stage.</param>
    /// <param name="item">The event.</param>
    /// <param name="message">Why it is late.</param>
    /// <param name="ticket">The replay the event came back by, if any: it stays late, and its entry is re-recorded.</param>
    /// <param name="trace">The trace context the event was admitted under, or none.</param>
    public async ValueTask LateAsync(string stage, object? item, string message, ReplayTicket? ticket, ActivityContext trace)
    {
        var now = _time.GetUtcNow();
        if (ticket is not null)
        {
            await Store.ReplaceAsync(ticket.Entry with { Replays = ticket.Entry.Replays + 1, LastFailure = now, Message = message }, CancellationToken.None).ConfigureAwait(false);
            ticket.Failed();
            return;
        }

        await RecordAsync(Create(stage, DeadLetterReason.Late, null, message, 1, now, now, item, trace)).ConfigureAwait(false);
    }

    /// <summary>
    /// After a cancellation, with every worker stopped: the events still in flight, past the store's capacity if need
    /// be. When the store fails, the rest cannot be recorded: that is logged, and the store's exception is thrown.
    /// </summary>
    /// <param name="leftovers">The events.</param>
    /// <param name="recorded">Counts each entry once it is recorded.</param>
    public async ValueTask CanceledAsync(IReadOnlyList<Leftover> leftovers, Action recorded)
    {
        var now = _time.GetUtcNow();
        for (var i = 0; i < leftovers.Count; i++)
        {
            var leftover = leftovers[i];
            var entry = Create(
                leftover.Stage,
                DeadLetterReason.Canceled,
                typeof(OperationCanceledException).FullName,
                "The pipeline was cancelled while the event was in flight.",
                leftover.Attempts,
                now,
                now,
                leftover.Item,
                leftover.Trace);
            try
            {
                await Store.AddPastCapacityAsync(entry).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _log.LeftoversLost(leftovers.Count - i, ex);
                throw;
            }

            recorded();
        }

        _log.Canceled(leftovers.Count);
    }

    private DeadLetterEntry Create(string stage, DeadLetterReason reason, string? exceptionType, string message, int attempts, DateTimeOffset first, DateTimeOffset last, object? item, ActivityContext trace) => new()
    {
        Id = $"{_pipeline}-{_idPrefix}-{Interlocked.Increment(ref _nextId):x}",
        Pipeline = _pipeline,
        Stage = stage,
        Reason = reason,
        ExceptionType = exceptionType,
        Message = message,
        Attempts = attempts,
        FirstFailure = first,
        LastFailure = last,
        TraceParent = PipelineTracing.Format(trace),
        Event = item,
    };

    private async ValueTask RecordAsync(DeadLetterEntry entry)
    {
        try
        {
            await Store.AddAsync(entry, _pipelineToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_pipelineToken.IsCancellationRequested)
        {
            await Store.AddPastCapacityAsync(entry).ConfigureAwait(false);
        }
    }
}
