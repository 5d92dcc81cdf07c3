using System.Threading.Channels;

namespace EventStream.Internal;

/// <summary>
/// The bounded queue in front of a segment, counted in events. Writers wait (or are refused) while it holds
/// <c>capacity</c> events; a batch larger than the capacity enters an empty queue. Single events are gathered into an
/// open batch that the reader takes as soon as it is idle, so a lone event is never held back waiting for company.
/// </summary>
internal sealed class StageQueue<T>
{
    private readonly object _lock = new();
    // Single reader: the segment's worker. Its wait is pooled by the channel, so an idle worker waking costs no allocation.
    private readonly Channel<Batch<T>> _channel = Channel.CreateUnbounded<Batch<T>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly int _batchSize;
    private readonly TimeProvider _time;
    private readonly PipelineCounters? _admissions;
    private Batch<T>? _open;
    private long _count;
    private bool _readerWaiting;
    private bool _completed;

    public StageQueue(int capacity, int batchSize, TimeProvider time, PipelineCounters? admissions)
    {
        Capacity = capacity;
        _batchSize = batchSize;
        _time = time;
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

    /// <summary>Writes a batch past the capacity (the non-waiting ingest, which is bounded by its own threshold).</summary>
    public void ForceWrite(Batch<T> batch)
    {
        lock (_lock)
        {
            ThrowIfCompleted();
            AdmitLocked(batch.Count);
            EnqueueLocked(batch);
        }
    }

    /// <summary>Wakes the reader without giving it events (it has side work: a retry or a replay).</summary>
    public void Wake() => _channel.Writer.TryWrite(Batch<T>.WakeUp);

    /// <summary>Takes the next batch, or the open batch when the queue is otherwise empty.</summary>
    public bool TryTake(out Batch<T> batch)
    {
        while (_channel.Reader.TryRead(out batch!))
        {
            if (ReferenceEquals(batch, Batch<T>.WakeUp))
            {
                continue;
            }

            Release(batch.Count);
            return true;
        }

        lock (_lock)
        {
            if (_open is { Count: > 0 } open)
            {
                _open = null;
                batch = open;
                ReleaseLocked(open.Count);
                return true;
            }
        }

        batch = null!;
        return false;
    }

    /// <summary>Waits until something can be taken; <see langword="false"/> once the queue is completed and empty.</summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_open is { Count: > 0 })
            {
                return new ValueTask<bool>(true);
            }

            _readerWaiting = true;
        }

        return _channel.Reader.WaitToReadAsync(cancellationToken);
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

            _channel.Writer.TryComplete();
        }

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
            _channel.Writer.TryComplete();
            while (_channel.Reader.TryRead(out var batch))
            {
                if (ReferenceEquals(batch, Batch<T>.WakeUp))
                {
                    continue;
                }

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
        _count += n;
        if (_admissions is not null)
        {
            Interlocked.Add(ref _admissions.Admitted, n);
        }
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
        _channel.Writer.TryWrite(batch);
        _readerWaiting = false;
    }

    private void FlushOpenLocked()
    {
        if (_open is { Count: > 0 } open)
        {
            _open = null;
            _channel.Writer.TryWrite(open);
            _readerWaiting = false;
        }
    }

    private void Release(int n)
    {
        lock (_lock)
        {
            ReleaseLocked(n);
        }
    }

    private void ReleaseLocked(int n)
    {
        _count -= n;

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
