using EventStream.Metrics;
using System.Diagnostics;

namespace EventStream;

/// <summary>
/// The worker of a segment whose queue holds <typeparamref name="T"/>: it takes whole batches from the queue and pushes
/// each event through the segment's chained operators, runs what arrives in the inbox (retries and replays first, then
/// one flush, so they travel on as a batch), and publishes the segment's counts once per batch. When the input is
/// complete and drained and no retry or replay is expected, it lets the operators emit what they hold (windows fire),
/// then completes the next segment's queue.
/// </summary>
/// <typeparam name="T">The event type of the segment's queue.</typeparam>
[DebuggerDisplay("Worker of {_segment.HeadStage,nq}")]
internal sealed class SegmentWorker<T> : SegmentWorker
{
    private readonly Segment<T> _segment;
    private readonly StageQueue<T> _queue;
    private readonly Operator<T> _head;
    private readonly Segment? _next;
    private readonly PipelineContext _pipeline;
    private long _deliveredRecorded;
    private bool _operatorsCompleted;

    /// <param name="segment">The segment it serves.</param>
    /// <param name="head">The operator of the segment's first stage, chained to the rest.</param>
    /// <param name="next">The segment after it, whose queue it completes when it finishes.</param>
    public SegmentWorker(Segment<T> segment, Operator<T> head, Segment? next)
    {
        _segment = segment;
        _queue = segment.Queue;
        _head = head;
        _next = next;
        _pipeline = segment.Pipeline;
    }

    public override async Task RunAsync()
    {
        var segment = _segment;
        var token = _pipeline.Token;
        try
        {
            while (true)
            {
                // Everything set so far is about to be looked at: only a set from here on should end the next wait.
                segment.Signal.Reset();
                if (!segment.Inbox.IsEmpty && await RunInboxAsync().ConfigureAwait(false))
                {
                    await EndOfBatchAsync().ConfigureAwait(false);
                }

                token.ThrowIfCancellationRequested();
                var completed = _queue.IsCompleted;
                if (await TryProcessBatchAsync().ConfigureAwait(false))
                {
                    continue;
                }

                if (completed && !_operatorsCompleted && !segment.Inbox.HasExpected)
                {
                    // Input drained and no retry pending: let the operators emit what they hold (windows fire), once.
                    _operatorsCompleted = true;
                    await _head.CompleteAsync().ConfigureAwait(false);
                    await EndOfBatchAsync().ConfigureAwait(false);
                    continue;
                }

                if (completed && _operatorsCompleted && segment.Inbox.TryFinish())
                {
                    break;
                }

                // Once the input is completed only the inbox (pending retries and replays) can bring work.
                if (completed || _queue.PrepareToWait())
                {
                    await segment.Signal.WaitAsync(token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            if (!segment.Counts.IsEmpty)
            {
                _pipeline.Counters.Publish(segment.Counts);
            }

            // What the segment still holds is collected once every worker has stopped (EventPipeline): draining its
            // queue now would refuse a batch the segment before it is still forwarding. Writers waiting for room are
            // released by the pipeline's cancellation already.
            return;
        }
        finally
        {
            segment.Retries.Dispose();
        }

        _next?.CompleteInput();
    }

    /// <summary>Runs every retry and replay in the inbox; after a cancellation hands them over instead.</summary>
    private async ValueTask<bool> RunInboxAsync()
    {
        var inbox = _segment.Inbox;
        var token = _pipeline.Token;
        var ran = false;
        while (inbox.TryTake(out var work))
        {
            if (token.IsCancellationRequested)
            {
                if (work.IsExpected)
                {
                    _pipeline.AddLeftovers([work.ToLeftover()]);
                }

                inbox.Done(work);
                continue;
            }

            _segment.CurrentAdmittedAt = work.AdmittedAt;
            _segment.CurrentTrace = work.Trace;
            await work.RunAsync().ConfigureAwait(false);
            inbox.Done(work);
            RecordLatency();
            ran = true;
        }

        return ran;
    }

    private ValueTask<bool> TryProcessBatchAsync()
    {
        if (!_queue.TryTake(out var batch))
        {
            return new ValueTask<bool>(false);
        }

        _segment.CurrentAdmittedAt = batch.AdmittedAt;
        _segment.CurrentTrace = batch.Trace;
        return PipelineTracing.IsEnabled ? ProcessTracedAsync(batch) : ProcessAsync(batch);
    }

    /// <summary>
    /// A batch under its own span. Async of its own so that the span is <see cref="Activity.Current"/> for the stages'
    /// handlers and no longer once the batch is done (what an async method sets is not seen by its caller).
    /// </summary>
    private async ValueTask<bool> ProcessTracedAsync(Batch<T> batch)
    {
        using var activity = PipelineTracing.StartProcess(_pipeline.Name, _segment.HeadStage, batch.Trace, batch.Count);
        try
        {
            return await ProcessAsync(batch).ConfigureAwait(false);
        }
        catch (Exception ex) when (activity is not null && ex is not OperationCanceledException)
        {
            activity.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
    }

    private ValueTask<bool> ProcessAsync(Batch<T> batch)
    {
        var items = batch.Items;
        var count = batch.Count;
        var head = _head;
        var token = _pipeline.Token;
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
        var token = _pipeline.Token;
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
        var leftovers = new List<Leftover>(batch.Count - from);
        for (var i = from; i < batch.Count; i++)
        {
            leftovers.Add(new Leftover(_segment.HeadStage, batch.Items[i], 0, batch.Trace));
        }

        _pipeline.AddLeftovers(leftovers);
        batch.Return();
        return ValueTask.FromException<bool>(new OperationCanceledException(_pipeline.Token));
    }

    /// <summary>Records the latency of what the sink delivered since the last record, weighted by those events.</summary>
    private void RecordLatency()
    {
        var delivered = _segment.Counts[PipelineCount.Delivered];
        var recorded = delivered - _deliveredRecorded;
        if (_segment.RecordsLatency && recorded > 0)
        {
            _pipeline.Latency.Record(_segment.CurrentAdmittedAt, recorded);
        }

        _deliveredRecorded = delivered;
    }

    private async ValueTask EndOfBatchAsync()
    {
        await _head.FlushAsync().ConfigureAwait(false);
        RecordLatency();
        if (!_segment.Counts.IsEmpty)
        {
            _pipeline.Counters.Publish(_segment.Counts);
        }

        _deliveredRecorded = 0;
    }
}
