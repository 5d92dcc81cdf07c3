using EventStream.Metrics;
using System.Collections.Concurrent;
using System.Diagnostics;

namespace EventStream.DeadLetters;

/// <summary>
/// Replays a pipeline's dead letters: each entry's event re-enters the stage that failed (through the stage's segment
/// inbox), and the entry leaves the store only after its event passed that stage; an event that fails again is
/// re-recorded by the <see cref="DeadLetterRecorder"/> and its entry stays. A crash in between loses nothing. Discards go
/// through here too, so that they leave alone the entries being replayed: a replayed entry discarded meanwhile would be
/// taken out twice (or, failing again, re-recorded after it was discarded), and the store's accounting
/// (<see cref="PipelineMetrics"/>) would no longer add up.
/// </summary>
#pragma warning disable CA1001 // _gate is a SemaphoreSlim whose wait handle is never asked for: it holds nothing to dispose.
internal sealed class DeadLetterReplayer
#pragma warning restore CA1001
{
    private readonly ConcurrentDictionary<string, byte> _replaying = new(StringComparer.Ordinal);

    // Held while a replay picks its entries and while a discard runs: no entry starts a replay during a discard.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly PipelineContext _pipeline;
    private readonly Dictionary<string, IStageOperator> _stages;
    private readonly Task _pipelineCompletion;

    /// <param name="pipeline">The pipeline's shared parts.</param>
    /// <param name="stages">The stages, to re-enter by name.</param>
    /// <param name="pipelineCompletion">Ends the wait for an outcome when the pipeline ends first.</param>
    public DeadLetterReplayer(PipelineContext pipeline, IReadOnlyList<IStageOperator> stages, Task pipelineCompletion)
    {
        _pipeline = pipeline;
        _stages = stages.ToDictionary(s => s.Stage.Name, StringComparer.Ordinal);
        _pipelineCompletion = pipelineCompletion;
    }

    private IDeadLetterStore Store => _pipeline.DeadLetters.Store;

    public async Task<ReplayResult> ReplayAsync(int maxCount, CancellationToken cancellationToken)
    {
        Activity? activity = null;
        try
        {
            var result = await ReplayAsync(maxCount, started => activity = started, cancellationToken).ConfigureAwait(false);
            activity?.SetTag(EventStreamTracing.BatchSizeTag, result.Replayed + result.FailedAgain);
            activity?.SetTag("eventstream.replay.replayed", result.Replayed);
            activity?.SetTag("eventstream.replay.failed_again", result.FailedAgain);
            activity?.SetTag("eventstream.replay.skipped", result.Skipped);
            return result;
        }
        catch (Exception ex) when (activity is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
        finally
        {
            activity?.Dispose();
        }
    }

    /// <summary>Replays; <paramref name="traced"/> is handed the replay's span once the entries are listed (the span links to them).</summary>
    private async Task<ReplayResult> ReplayAsync(int maxCount, Action<Activity?> traced, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var skipped = 0;
        List<(DeadLetterEntry Entry, ReplayTicket Ticket)> pending;
        try
        {
            var entries = await Store.ListAsync(_pipeline.Name, maxCount, cancellationToken).ConfigureAwait(false);
            traced(PipelineTracing.StartReplay(_pipeline.Name, entries));
            pending = new List<(DeadLetterEntry Entry, ReplayTicket Ticket)>(entries.Count);
            foreach (var entry in entries)
            {
                if (!_stages.TryGetValue(entry.Stage, out var stage) || !_replaying.TryAdd(entry.Id, 0))
                {
                    skipped++;
                    continue;
                }

                // Counted before it re-enters, so the event cannot finish before it started (in-flight never reads low).
                var ticket = new ReplayTicket(entry);
                _pipeline.Counters.Add(PipelineCount.Replayed, 1);
                if (!stage.TryReplay(entry.Event, ticket))
                {
                    _pipeline.Counters.Add(PipelineCount.Replayed, -1);
                    _replaying.TryRemove(entry.Id, out _);
                    skipped++;
                    continue;
                }

                pending.Add((entry, ticket));
            }
        }
        finally
        {
            _gate.Release();
        }

        var replayed = 0;
        var failedAgain = 0;
        try
        {
            foreach (var (entry, ticket) in pending)
            {
                if (await OutcomeAsync(ticket).WaitAsync(cancellationToken).ConfigureAwait(false))
                {
                    await Store.RemoveAsync(entry.Id, CancellationToken.None).ConfigureAwait(false);
                    replayed++;
                }
                else
                {
                    failedAgain++;
                }

                _replaying.TryRemove(entry.Id, out _);
            }
        }
        finally
        {
            // Outcomes still pending when the caller stops waiting settle in the background.
            foreach (var (entry, ticket) in pending)
            {
                if (!ticket.Outcome.IsCompleted)
                {
                    _ = SettleLaterAsync(entry, ticket);
                }
            }
        }

        return new ReplayResult(replayed, failedAgain, skipped);
    }

    /// <summary>
    /// Discards the pipeline's entries that match, except those being replayed, and counts and logs what was discarded.
    /// With no replay in flight the store discards in place; otherwise the matching entries are listed and discarded by
    /// id. Once the store is called, it is not cancelled: what it discarded is always counted.
    /// </summary>
    public async Task<long> DiscardAsync(DeadLetterDiscard filter, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long discarded;
            if (_replaying.IsEmpty)
            {
                discarded = await Store.DiscardAsync(_pipeline.Name, filter, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                var matches = filter.Matcher();
                var ids = (await Store.ListAsync(_pipeline.Name, int.MaxValue, CancellationToken.None).ConfigureAwait(false))
                    .Where(e => matches(e) && !_replaying.ContainsKey(e.Id))
                    .Select(e => e.Id)
                    .ToArray();
                discarded = ids.Length == 0 ? 0 : await Store.DiscardAsync(_pipeline.Name, new DeadLetterDiscard { Ids = ids }, CancellationToken.None).ConfigureAwait(false);
            }

            _pipeline.Counters.Add(PipelineCount.Discarded, discarded);
            _pipeline.Log.Discarded(discarded, filter);
            return discarded;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// A replayed event's outcome, or false when the pipeline ends first (cancelled while the event was in flight: the
    /// event was dead-lettered again as a leftover, and the original entry stays).
    /// </summary>
    private async Task<bool> OutcomeAsync(ReplayTicket ticket)
    {
        await Task.WhenAny(ticket.Outcome, _pipelineCompletion).ConfigureAwait(false);
        return ticket.Outcome.IsCompletedSuccessfully && ticket.Outcome.Result;
    }

    private async Task SettleLaterAsync(DeadLetterEntry entry, ReplayTicket ticket)
    {
        if (await OutcomeAsync(ticket).ConfigureAwait(false))
        {
            await Store.RemoveAsync(entry.Id, CancellationToken.None).ConfigureAwait(false);
        }

        _replaying.TryRemove(entry.Id, out _);
    }
}
