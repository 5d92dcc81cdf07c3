using System.Collections.Concurrent;
using EventStream.DeadLetters;
using EventStream.Internal;
using EventStream.Metrics;

namespace EventStream;

/// <summary>The running pipeline: the input queue, the segment workers, the doors and replay.</summary>
internal sealed class EventPipeline<T> : PipelineCore, IEventPipeline<T>
{
    private readonly ConcurrentDictionary<string, byte> _replaying = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private StageQueue<T> _input = null!;
    private Task _workers = Task.CompletedTask;
    private int _disposed;

    public EventPipeline(string name, PipelineOptions options)
        : base(name, options)
    {
    }

    public IDeadLetterStore DeadLetters => Store;

    public Task Completion => _completion.Task;

    /// <summary>Wires the segments built by the builder and starts their workers.</summary>
    internal void Start(StageQueue<T> input, IReadOnlyList<StageRuntime> stages, IReadOnlyList<Segment> segments, IReadOnlyList<OperatorBase> operators)
    {
        _input = input;
        Stages = stages;
        Segments = segments;
        Operators = operators;
        var tasks = segments.Select(s => Task.Run(() => RunWorkerAsync(s))).ToArray();
        _workers = Task.WhenAll(tasks);
        _ = FinishAsync();
    }

    public bool TryWrite(T item)
    {
        if (Store.IsFull || !_input.TryWrite(item))
        {
            Interlocked.Increment(ref Counters.Rejected);
            Instruments.Rejected(1);
            return false;
        }

        Instruments.Accepted(1);
        return true;
    }

    public ValueTask WriteAsync(T item, CancellationToken cancellationToken = default)
    {
        ThrowIfStoreFull(1);
        var write = _input.WriteAsync(item, cancellationToken);
        if (write.IsCompletedSuccessfully)
        {
            Instruments.Accepted(1);
            return default;
        }

        return AwaitAccepted(write, 1);
    }

    public async ValueTask WriteBatchAsync(ReadOnlyMemory<T> items, CancellationToken cancellationToken = default)
    {
        var size = Options.BatchSize;
        for (var offset = 0; offset < items.Length; offset += size)
        {
            ThrowIfStoreFull(items.Length - offset);
            var chunk = items.Slice(offset, Math.Min(size, items.Length - offset));
            var batch = Batch<T>.Rent(chunk.Length, Time.GetTimestamp());
            chunk.Span.CopyTo(batch.Items);
            batch.Count = chunk.Length;
            try
            {
                await _input.WriteBatchAsync(batch, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                batch.Return();
                throw;
            }

            Instruments.Accepted(chunk.Length);
        }
    }

    public void Ingest(ReadOnlySpan<T> items)
    {
        if (items.IsEmpty)
        {
            return;
        }

        ThrowIfStoreFull(items.Length);
        var inFlight = Counters.InFlight;
        if (inFlight + items.Length > Options.BackpressureThreshold)
        {
            Interlocked.Add(ref Counters.Rejected, items.Length);
            Instruments.Rejected(items.Length);
            var retryAfter = EstimateRetryAfter(inFlight, items.Length);
            throw new BackpressureException(
                $"Pipeline '{Name}' has {inFlight} events in flight; admitting {items.Length} more would pass its backpressure threshold of {Options.BackpressureThreshold}. Retry after {retryAfter.TotalSeconds:0.###} s.",
                retryAfter,
                inFlight,
                items.Length);
        }

        var now = Time.GetTimestamp();
        var size = Options.BatchSize;
        for (var offset = 0; offset < items.Length; offset += size)
        {
            var chunk = items.Slice(offset, Math.Min(size, items.Length - offset));
            var batch = Batch<T>.Rent(chunk.Length, now);
            chunk.CopyTo(batch.Items);
            batch.Count = chunk.Length;
            _input.ForceWrite(batch);
        }

        Instruments.Accepted(items.Length);
    }

    public void Complete() => _input.Complete();

    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        Complete();
        try
        {
            await Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public PipelineMetrics GetMetrics() => Snapshot();

    public async Task<ReplayResult> ReplayDeadLettersAsync(int maxCount = int.MaxValue, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxCount);
        if (Completion.IsCompleted || Token.IsCancellationRequested)
        {
            throw new InvalidOperationException($"Pipeline '{Name}' has completed; replay needs a running pipeline with the same name.");
        }

        var entries = await Store.ListAsync(Name, maxCount, cancellationToken).ConfigureAwait(false);
        var skipped = 0;
        var pending = new List<(DeadLetterEntry Entry, ReplayTicket Ticket)>(entries.Count);
        foreach (var entry in entries)
        {
            var stage = Stages.FirstOrDefault(s => string.Equals(s.Name, entry.Stage, StringComparison.Ordinal));
            if (stage?.Injector is null || !_replaying.TryAdd(entry.Id, 0))
            {
                skipped++;
                continue;
            }

            var ticket = new ReplayTicket(entry);
            if (!stage.Injector(entry.Event, ticket))
            {
                _replaying.TryRemove(entry.Id, out _);
                skipped++;
                continue;
            }

            Interlocked.Increment(ref Counters.Replayed);
            pending.Add((entry, ticket));
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

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return;
        }

        if (!Completion.IsCompleted)
        {
            Cancel();
        }

        await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Instruments.Dispose();
    }

    private async Task RunWorkerAsync(Segment segment)
    {
        try
        {
            await segment.RunAsync().ConfigureAwait(false);
        }
        catch
        {
            // A worker that fails (a bug, not a handler failure) stops the whole pipeline rather than stalling it.
            Cancel();
            throw;
        }
    }

    /// <summary>
    /// A replayed event's outcome, or false when the pipeline ends first (cancelled while the event was in flight: the
    /// event was dead-lettered again as a leftover, and the original entry stays).
    /// </summary>
    private async Task<bool> OutcomeAsync(ReplayTicket ticket)
    {
        await Task.WhenAny(ticket.Outcome, Completion).ConfigureAwait(false);
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

    private async Task FinishAsync()
    {
        try
        {
            await _workers.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A worker fault is reported through Completion, after the pipeline is cancelled and drained.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Cancel();
            await DrainAfterCancelAsync().ConfigureAwait(false);
            _completion.TrySetException(ex);
            return;
        }

        if (Token.IsCancellationRequested)
        {
            await DrainAfterCancelAsync().ConfigureAwait(false);
            _completion.TrySetCanceled(Token);
            return;
        }

        foreach (var op in Operators)
        {
            op.Stop();
        }

        _completion.TrySetResult();
    }

    private async Task DrainAfterCancelAsync()
    {
        foreach (var segment in Segments)
        {
            segment.CollectOnCancel();
        }

        await DeadLetterLeftoversAsync().ConfigureAwait(false);
    }

    private void ThrowIfStoreFull(int count)
    {
        if (Store.IsFull)
        {
            Interlocked.Add(ref Counters.Rejected, count);
            Instruments.Rejected(count);
            throw new DeadLetterStoreFullException($"Pipeline '{Name}' rejects new events: its dead-letter store is full. Replay or remove dead letters to make room.");
        }
    }

    private async ValueTask AwaitAccepted(ValueTask write, int count)
    {
        await write.ConfigureAwait(false);
        Instruments.Accepted(count);
    }
}
