using System.Collections.Concurrent;
using System.Diagnostics;

namespace EventStream;

/// <summary>
/// A segment's side door: work that re-enters its loop outside the batch flow — retries whose back-off is over,
/// replayed dead letters, and window ticks. Retries and replays are <em>expected</em>: the segment may not finish
/// while one is still on its way. Posting wakes the worker through the segment's <see cref="WorkSignal"/>, never
/// through the data queue.
/// </summary>
[DebuggerDisplay("Queued = {QueuedCount}, expected = {_expected}, finished = {_finished}")]
internal sealed class WorkInbox
{
    private readonly ConcurrentQueue<WorkItem> _items = new();
    private readonly WorkSignal _signal;
    private readonly CancellationToken _pipelineToken;
    private readonly object _finishLock = new();
    private int _expected;
    private bool _finished;

    public WorkInbox(WorkSignal signal, CancellationToken pipelineToken)
    {
        _signal = signal;
        _pipelineToken = pipelineToken;
    }

    /// <summary>Whether a retry or replay is still on its way (waiting for its back-off, or queued here).</summary>
    public bool HasExpected => Volatile.Read(ref _expected) != 0;

    /// <summary>How many retries and replays are still on their way (for the test driver's accounting).</summary>
    internal int Expected => Volatile.Read(ref _expected);

    /// <summary>Whether the segment has finished (it takes no more work).</summary>
    internal bool IsFinished
    {
        get
        {
            lock (_finishLock)
            {
                return _finished;
            }
        }
    }

    /// <summary>Whether nothing is queued (checked once per batch, so the worker's loop skips the inbox cheaply).</summary>
    public bool IsEmpty => _items.IsEmpty;

    private int QueuedCount => _items.Count;

    /// <summary>Announces a retry or replay that will be posted later; the segment waits for it before it finishes.</summary>
    public void Expect() => Interlocked.Increment(ref _expected);

    public void Post(WorkItem item)
    {
        _items.Enqueue(item);
        _signal.Set();
    }

    public void PostAll(List<WorkItem> items)
    {
        foreach (var item in items)
        {
            _items.Enqueue(item);
        }

        _signal.Set();
    }

    /// <summary>Posts a replayed dead letter; refused once the segment has finished or the pipeline is cancelled.</summary>
    public bool TryInject(WorkItem item)
    {
        lock (_finishLock)
        {
            if (_finished || _pipelineToken.IsCancellationRequested)
            {
                return false;
            }

            Expect();
            Post(item);
            return true;
        }
    }

    public bool TryTake(out WorkItem item) => _items.TryDequeue(out item!);

    /// <summary>The worker ran (or, after a cancellation, handed over) an item it took.</summary>
    public void Done(WorkItem item)
    {
        if (item.IsExpected)
        {
            var left = Interlocked.Decrement(ref _expected);
            Debug.Assert(left >= 0, "more retries and replays done than expected");
        }
    }

    /// <summary>Marks the inbox finished when nothing is expected or queued; from then on replays are refused.</summary>
    public bool TryFinish()
    {
        lock (_finishLock)
        {
            if (Volatile.Read(ref _expected) != 0 || !_items.IsEmpty)
            {
                return false;
            }

            _finished = true;
            return true;
        }
    }
}
