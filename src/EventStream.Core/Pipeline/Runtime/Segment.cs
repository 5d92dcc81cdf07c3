using System.Threading.Channels;

namespace EventStream.Internal;

/// <summary>
/// A run of stages served by one worker loop: a queue in front, the fused operators, and a side door for retries
/// and replays. The worker finishes once its queue is completed and drained and no retry or replay is pending; then it
/// completes the next segment's queue.
/// </summary>
#pragma warning disable CA1001 // The delay queue is disposed by the worker when it ends (RunAsync), not by an owner.
internal abstract class Segment
#pragma warning restore CA1001
{
    private readonly Channel<WorkItem> _work = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly DelayQueue _delayed;
    private readonly object _finishLock = new();
    private int _pendingWork;
    private long _deliveredRecorded;
    private bool _operatorsCompleted;
    private bool _finished;

    protected Segment(PipelineCore pipeline, StageRuntime head)
    {
        Pipeline = pipeline;
        Head = head;
        _delayed = new DelayQueue(pipeline.Time, Post);
    }

    public PipelineCore Pipeline { get; }

    /// <summary>The stage whose queue this segment reads.</summary>
    public StageRuntime Head { get; }

    /// <summary>Counts gathered by the worker, published after each batch.</summary>
    public LocalCounts Counts;

    /// <summary>Admission time of the batch or work item being processed (for latency, and inherited by output batches).</summary>
    public long CurrentAdmittedAt { get; protected set; }

    public bool IsSinkSegment { get; set; }

    public Segment? Next { get; set; }

    public abstract long QueueDepth { get; }

    public abstract int Capacity { get; }

    public abstract void CompleteInput();

    /// <summary>Wakes the worker if it waits on its input queue.</summary>
    protected abstract void WakeInput();

    private void Post(List<WorkItem> items)
    {
        foreach (var item in items)
        {
            _work.Writer.TryWrite(item);
        }

        WakeInput();
    }

    /// <summary>Schedules a retry after <paramref name="delay"/> on the pipeline's clock.</summary>
    public void Schedule(WorkItem item, TimeSpan delay)
    {
        Interlocked.Increment(ref _pendingWork);
        if (delay <= TimeSpan.Zero)
        {
            Post([item]);
            return;
        }

        _delayed.Schedule(item, delay);
    }

    /// <summary>Posts a tick (not waited for at completion).</summary>
    public void PostTick(WorkItem item) => Post([item]);

    /// <summary>Injects a replayed dead letter; refused once the segment has finished.</summary>
    public bool TryInject(WorkItem item)
    {
        lock (_finishLock)
        {
            if (_finished || Pipeline.Token.IsCancellationRequested)
            {
                return false;
            }

            Interlocked.Increment(ref _pendingWork);
            Post([item]);
            return true;
        }
    }

    public async Task RunAsync()
    {
        var token = Pipeline.Token;
        try
        {
            while (true)
            {
                // Due retries and replays first, all of them, then one flush: they travel on as a batch.
                var ranWork = false;
                while (_work.Reader.TryRead(out var work))
                {
                    if (token.IsCancellationRequested)
                    {
                        if (work.IsPending)
                        {
                            Pipeline.AddLeftover(new Leftover(work.Stage, work.Item, work.AttemptsSoFar));
                            Interlocked.Decrement(ref _pendingWork);
                        }

                        continue;
                    }

                    CurrentAdmittedAt = work.AdmittedAt;
                    await work.RunAsync().ConfigureAwait(false);
                    if (work.IsPending)
                    {
                        Interlocked.Decrement(ref _pendingWork);
                    }

                    RecordLatency();
                    ranWork = true;
                }

                if (ranWork)
                {
                    await EndOfBatchAsync().ConfigureAwait(false);
                }

                token.ThrowIfCancellationRequested();
                var completed = IsInputCompleted;
                if (await TryProcessBatchAsync().ConfigureAwait(false))
                {
                    continue;
                }

                if (completed && !_operatorsCompleted && Volatile.Read(ref _pendingWork) == 0)
                {
                    // Input drained and no retry pending: let the operators emit what they hold (windows fire), once.
                    _operatorsCompleted = true;
                    await HeadOperator.CompleteAsync().ConfigureAwait(false);
                    await EndOfBatchAsync().ConfigureAwait(false);
                    continue;
                }

                if (completed && _operatorsCompleted && TryFinish())
                {
                    break;
                }

                await WaitForWorkAsync(completed, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            if (!Counts.IsEmpty)
            {
                Pipeline.Publish(ref Counts);
            }

            CollectOnCancel();
            _delayed.Dispose();
            return;
        }

        _delayed.Dispose();
        Next?.CompleteInput();
    }

    protected abstract bool IsInputCompleted { get; }

    protected abstract ValueTask<bool> TryProcessBatchAsync();

    protected abstract ValueTask<bool> WaitForInputAsync(CancellationToken token);

    protected abstract OperatorBase HeadOperator { get; }

    /// <summary>After a cancellation: everything still queued, scheduled or held goes to the leftovers.</summary>
    public virtual void CollectOnCancel()
    {
        foreach (var work in _delayed.DrainAll())
        {
            Pipeline.AddLeftover(new Leftover(work.Stage, work.Item, work.AttemptsSoFar));
        }

        while (_work.Reader.TryRead(out var work))
        {
            if (work.IsPending)
            {
                Pipeline.AddLeftover(new Leftover(work.Stage, work.Item, work.AttemptsSoFar));
            }
        }
    }

    /// <summary>Records the latency of what the sink delivered since the last record, weighted by those events.</summary>
    protected void RecordLatency()
    {
        var delivered = Counts.Delivered - _deliveredRecorded;
        if (IsSinkSegment && delivered > 0)
        {
            Pipeline.RecordLatency(CurrentAdmittedAt, delivered);
        }

        _deliveredRecorded = Counts.Delivered;
    }

    protected async ValueTask EndOfBatchAsync()
    {
        await HeadOperator.FlushAsync().ConfigureAwait(false);
        RecordLatency();
        if (!Counts.IsEmpty)
        {
            Pipeline.Publish(ref Counts);
        }

        _deliveredRecorded = 0;
    }

    private bool TryFinish()
    {
        lock (_finishLock)
        {
            if (Volatile.Read(ref _pendingWork) != 0 || _work.Reader.TryPeek(out _))
            {
                return false;
            }

            _finished = true;
            return true;
        }
    }

    private async ValueTask WaitForWorkAsync(bool inputCompleted, CancellationToken token)
    {
        // One wait at a time, on one pooled waiter: side work wakes the input queue (see Post), so no WhenAny is needed.
        // Once the input is completed only side work (pending retries and replays) can arrive.
        if (inputCompleted)
        {
            await _work.Reader.WaitToReadAsync(token).ConfigureAwait(false);
        }
        else
        {
            await WaitForInputAsync(token).ConfigureAwait(false);
        }
    }
}

internal sealed class Segment<T> : Segment
{
    private Operator<T> _head = null!;

    public Segment(PipelineCore pipeline, StageRuntime head, StageQueue<T> queue)
        : base(pipeline, head)
    {
        Queue = queue;
    }

    public StageQueue<T> Queue { get; }

    public Operator<T> Operator
    {
        get => _head;
        set => _head = value;
    }

    public override long QueueDepth => Queue.Count;

    public override int Capacity => Queue.Capacity;

    protected override OperatorBase HeadOperator => _head;

    protected override bool IsInputCompleted => Queue.IsCompleted;

    public override void CompleteInput() => Queue.Complete();

    protected override void WakeInput() => Queue.Wake();

    public override void CollectOnCancel()
    {
        base.CollectOnCancel();
        var items = new List<T>();
        Queue.DrainTo(items);
        foreach (var item in items)
        {
            Pipeline.AddLeftover(new Leftover(Head, item, 0));
        }
    }

    protected override ValueTask<bool> WaitForInputAsync(CancellationToken token) => Queue.WaitToReadAsync(token);

    protected override ValueTask<bool> TryProcessBatchAsync()
    {
        if (!Queue.TryTake(out var batch))
        {
            return new ValueTask<bool>(false);
        }

        CurrentAdmittedAt = batch.AdmittedAt;
        var items = batch.Items;
        var count = batch.Count;
        var head = _head;
        var token = Pipeline.Token;
        for (var i = 0; i < count; i++)
        {
            if (token.IsCancellationRequested)
            {
                return Abandon(batch, i);
            }

            var pending = head.ProcessAsync(items[i], null);
            if (!pending.IsCompletedSuccessfully)
            {
                return ContinueBatchAsync(pending, batch, i + 1);
            }
        }

        return FinishBatchAsync(batch);
    }

    private async ValueTask<bool> ContinueBatchAsync(ValueTask pending, Batch<T> batch, int from)
    {
        await pending.ConfigureAwait(false);
        var items = batch.Items;
        var token = Pipeline.Token;
        for (var i = from; i < batch.Count; i++)
        {
            if (token.IsCancellationRequested)
            {
                return await Abandon(batch, i).ConfigureAwait(false);
            }

            await _head.ProcessAsync(items[i], null).ConfigureAwait(false);
        }

        return await FinishBatchAsync(batch).ConfigureAwait(false);
    }

    private ValueTask<bool> FinishBatchAsync(Batch<T> batch)
    {
        batch.Return();
        var end = EndOfBatchAsync();
        return end.IsCompletedSuccessfully ? new ValueTask<bool>(true) : AwaitEndAsync(end);

        static async ValueTask<bool> AwaitEndAsync(ValueTask end)
        {
            await end.ConfigureAwait(false);
            return true;
        }
    }

    private ValueTask<bool> Abandon(Batch<T> batch, int from)
    {
        for (var i = from; i < batch.Count; i++)
        {
            Pipeline.AddLeftover(new Leftover(Head, batch.Items[i], 0));
        }

        batch.Return();
        return ValueTask.FromException<bool>(new OperationCanceledException(Pipeline.Token));
    }
}
