using EventStream.Metrics;
using System.Diagnostics;

namespace EventStream;

/// <summary>
/// The bounded queue in front of a segment, counted in events: what counts toward <see cref="Capacity"/> is every event
/// written and not yet taken by the segment's worker. Writers wait (or are refused) while it holds <c>capacity</c>
/// events; a batch larger than the capacity enters an empty queue. Single events are gathered into an open batch that
/// the worker takes as soon as it is idle, so a lone event is never held back waiting for company. A write or
/// <see cref="Complete"/> wakes the worker through its <see cref="WorkSignal"/>.
/// </summary>
/// <typeparam name="T">The event type.</typeparam>
[DebuggerDisplay("Count = {Count}, Capacity = {Capacity}, waiting writers = {_waiters.Count}, completed = {_completed}")]
internal sealed class StageQueue<T>
{
    private readonly object _lock = new();
    private readonly Queue<Batch<T>> _batches = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly int _batchSize;
    private readonly TimeProvider _time;
    private readonly WorkSignal _signal;
    private readonly PipelineCounters? _admissions;
    private Batch<T>? _open;
    private long _count;
    private bool _readerWaiting;
    private bool _completed;

    /// <param name="capacity">The most events it holds before writers wait.</param>
    /// <param name="batchSize">The size of the batches single events are gathered into.</param>
    /// <param name="time">Stamps admission times.</param>
    /// <param name="signal">Wakes the reader.</param>
    /// <param name="admissions">The pipeline's counters, for the input queue: what it admits counts as accepted.</param>
    public StageQueue(int capacity, int batchSize, TimeProvider time, WorkSignal signal, PipelineCounters? admissions)
    {
        Capacity = capacity;
        _batchSize = batchSize;
        _time = time;
        _signal = signal;
        _admissions = admissions;
    }

    public int Capacity { get; }

    public long Count => Volatile.Read(ref _count);

    public bool IsCompleted
    {
        get
        {
            lock (_lock)
            {
                return _completed;
            }
        }
    }

    /// <summary>Writes one event if there is room; never waits.</summary>
    public bool TryWrite(T item)
    {
        lock (_lock)
        {
            ThrowIfCompleted();
            if (_waiters.Count != 0 || !FitsLocked(1))
            {
                return false;
            }

            AdmitLocked(1);
            AppendLocked(item);
            return true;
        }
    }

    /// <summary>Writes one event, waiting for room.</summary>
    public ValueTask WriteAsync(T item, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_lock)
        {
            ThrowIfCompleted();
            if (_waiters.Count == 0 && FitsLocked(1))
            {
                AdmitLocked(1);
                AppendLocked(item);
                return default;
            }

            cancellationToken.ThrowIfCancellationRequested();
            waiter = new Waiter(1, item, null);
            waiter.Node = _waiters.AddLast(waiter);
        }

        return new ValueTask(waiter.Register(this, cancellationToken));
    }

    /// <summary>Writes a batch, waiting for room. The queue takes ownership of the batch once the task completes.</summary>
    public ValueTask WriteBatchAsync(Batch<T> batch, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_lock)
        {
            ThrowIfCompleted();
            if (_waiters.Count == 0 && FitsLocked(batch.Count))
            {
                AdmitLocked(batch.Count);
                EnqueueLocked(batch);
                return default;
            }

            cancellationToken.ThrowIfCancellationRequested();
            waiter = new Waiter(batch.Count, default!, batch);
            waiter.Node = _waiters.AddLast(waiter);
        }

        return new ValueTask(waiter.Register(this, cancellationToken));
    }

    /// <summary>
    /// Writes batches past the capacity, all or none (the non-waiting ingest, which is bounded by its own threshold): a
    /// queue completed meanwhile refuses them all. The queue takes ownership of the batches when this returns.
    /// </summary>
    public void ForceWrite(List<Batch<T>> batches)
    {
        lock (_lock)
        {
            ThrowIfCompleted();
            foreach (var batch in batches)
            {
                AdmitLocked(batch.Count);
                EnqueueLocked(batch);
            }
        }
    }

    /// <summary>Takes the next batch, or the open batch when the queue is otherwise empty.</summary>
    public bool TryTake(out Batch<T> batch)
    {
        lock (_lock)
        {
            if (!_batches.TryDequeue(out batch!))
            {
                if (_open is not { Count: > 0 } open)
                {
                    batch = null!;
                    return false;
                }

                _open = null;
                batch = open;
            }

            ReleaseLocked(batch.Count);
            return true;
        }
    }

    /// <summary>
    /// The worker is about to wait on its signal: <see langword="false"/> when there is something to take after all;
    /// otherwise the next single event written is passed on at once instead of waiting for its batch to fill.
    /// </summary>
    public bool PrepareToWait()
    {
        lock (_lock)
        {
            if (_batches.Count != 0 || _open is { Count: > 0 })
            {
                return false;
            }

            _readerWaiting = true;
            return true;
        }
    }

    /// <summary>No more writes. Waiting writers fail; what is queued stays readable.</summary>
    public void Complete()
    {
        List<Waiter>? failed = null;
        lock (_lock)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            FlushOpenLocked();
            if (_waiters.Count != 0)
            {
                failed = TakeWaitersLocked();
            }

            AssertInvariantsLocked();
        }

        _signal.Set();

        if (failed is not null)
        {
            foreach (var waiter in failed)
            {
                waiter.TrySetException(new InvalidOperationException("The pipeline was completed while this write waited for room; the event was not admitted."));
            }
        }
    }

    /// <summary>Takes out everything still queued (after the reader stopped) for dead-lettering.</summary>
    public void DrainTo(List<T> sink)
    {
        List<Waiter>? failed = null;
        lock (_lock)
        {
            _completed = true;
            FlushOpenLocked();
            while (_batches.TryDequeue(out var batch))
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    sink.Add(batch.Items[i]);
                }

                _count -= batch.Count;
                batch.Return();
            }

            if (_waiters.Count != 0)
            {
                failed = TakeWaitersLocked();
            }

            Debug.Assert(_count == 0, "a drained queue holds no events");
        }

        if (failed is not null)
        {
            foreach (var waiter in failed)
            {
                waiter.TrySetException(new OperationCanceledException("The pipeline was cancelled while this write waited for room; the event was not admitted."));
            }
        }
    }

    /// <summary>Empties the waiting list; each waiter forgets its node, so that a cancellation arriving later does not remove it again.</summary>
    private List<Waiter> TakeWaitersLocked()
    {
        var taken = new List<Waiter>(_waiters.Count);
        foreach (var waiter in _waiters)
        {
            waiter.Node = null;
            taken.Add(waiter);
        }

        _waiters.Clear();
        return taken;
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("The pipeline has been completed; it admits no more events.");
        }
    }

    private bool FitsLocked(int n) => _count == 0 || _count + n <= Capacity;

    private void AdmitLocked(int n)
    {
        Debug.Assert(Monitor.IsEntered(_lock), "the lock is held");
        Debug.Assert(!_completed, "a completed queue admits nothing");
        _count += n;
        _admissions?.Add(PipelineCount.Accepted, n);
    }

    /// <summary>The count is every event in the queued batches and the open batch; writers wait only while the queue is above half its capacity.</summary>
    [Conditional("DEBUG")]
    private void AssertInvariantsLocked()
    {
        Debug.Assert(Monitor.IsEntered(_lock), "the lock is held");
        long held = _open?.Count ?? 0;
        foreach (var batch in _batches)
        {
            held += batch.Count;
        }

        Debug.Assert(held == _count, $"the queue counts {_count} events but holds {held}");
        Debug.Assert(_count >= 0, "the count is never negative");
        Debug.Assert(!_completed || _waiters.Count == 0, "a completed queue has no waiting writers");
    }

    private void AppendLocked(T item)
    {
        _open ??= Batch<T>.Rent(_batchSize, _time.GetTimestamp());
        _open.Add(item);
        if (_open.IsFull || _open.Count >= _batchSize || _readerWaiting)
        {
            FlushOpenLocked();
        }
    }

    private void EnqueueLocked(Batch<T> batch)
    {
        FlushOpenLocked();
        _batches.Enqueue(batch);
        _readerWaiting = false;
        _signal.Set();
    }

    private void FlushOpenLocked()
    {
        if (_open is { Count: > 0 } open)
        {
            _open = null;
            _batches.Enqueue(open);
            _readerWaiting = false;
            _signal.Set();
        }
    }

    private void ReleaseLocked(int n)
    {
        Debug.Assert(Monitor.IsEntered(_lock), "the lock is held");
        _count -= n;
        Debug.Assert(_count >= 0, "the queue released more events than it held");

        // Hysteresis: a waiting writer is let in once the queue has drained to half its capacity, not as soon as one
        // batch fits, so a producer that outruns the worker is woken once per half-queue instead of once per batch.
        if (_count > Capacity / 2)
        {
            return;
        }

        while (_waiters.First is { } node && FitsLocked(node.Value.Count) && !_completed)
        {
            var waiter = node.Value;
            _waiters.RemoveFirst();
            waiter.Node = null;
            AdmitLocked(waiter.Count);
            if (waiter.Batch is { } batch)
            {
                EnqueueLocked(batch);
            }
            else
            {
                AppendLocked(waiter.Item);
            }

            waiter.TrySetResult();
        }

        AssertInvariantsLocked();
    }

    private sealed class Waiter : TaskCompletionSource
    {
        private CancellationTokenRegistration _registration;

        public Waiter(int count, T item, Batch<T>? batch)
            : base(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            Count = count;
            Item = item;
            Batch = batch;
        }

        public int Count { get; }

        public T Item { get; }

        public Batch<T>? Batch { get; }

        public LinkedListNode<Waiter>? Node { get; set; }

        public Task Register(StageQueue<T> queue, CancellationToken cancellationToken)
        {
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.Register(static state =>
                {
                    var (q, w, token) = ((StageQueue<T>, Waiter, CancellationToken))state!;
                    bool removed;
                    lock (q._lock)
                    {
                        removed = w.Node is not null;
                        if (removed)
                        {
                            q._waiters.Remove(w.Node!);
                            w.Node = null;
                        }
                    }

                    if (removed)
                    {
                        w.TrySetCanceled(token);
                    }
                }, (queue, this, cancellationToken));
                _ = Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Dispose(), _registration, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            return Task;
        }
    }
}
