using EventStream.Metrics;
using EventStream.DeadLetters;
using System.Diagnostics;

namespace EventStream;

/// <summary>
/// The running pipeline: the producer doors into its input queue, the segment workers, completion and cancellation,
/// metrics snapshots and replay. Assembled by <see cref="PipelineAssembler"/>, which hands it every part.
/// </summary>
/// <typeparam name="T">The input event type.</typeparam>
[DebuggerDisplay("Pipeline {Name,nq}: in flight {_pipeline.Counters.InFlight}, {Completion.Status}")]
internal sealed class EventPipeline<T> : IEventPipeline<T>, DependencyInjection.IStoppablePipeline
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PipelineContext _pipeline;
    private readonly StageQueue<T> _input;
    private readonly IReadOnlyList<IStageOperator> _stages;
    private readonly IReadOnlyList<Segment> _segments;
    private readonly IReadOnlyList<SegmentWorker> _workers;
    private readonly IReadOnlyList<OperatorBase> _operators;
    private readonly DeadLetterReplayer _replayer;
    private readonly Lock _ingestGate = new();
    private int _disposed;

    /// <param name="pipeline">The shared parts.</param>
    /// <param name="input">The first segment, whose queue the doors write to.</param>
    /// <param name="stages">Every stage's operator, in pipeline order.</param>
    /// <param name="segments">The segments, in pipeline order.</param>
    /// <param name="workers">One worker per segment.</param>
    /// <param name="operators">Every operator, forwarders included (timers to stop, events to collect after a cancellation).</param>
    public EventPipeline(PipelineContext pipeline, Segment<T> input, IReadOnlyList<IStageOperator> stages, IReadOnlyList<Segment> segments, IReadOnlyList<SegmentWorker> workers, IReadOnlyList<OperatorBase> operators)
    {
        _pipeline = pipeline;
        _input = input.Queue;
        _stages = stages;
        _segments = segments;
        _workers = workers;
        _operators = operators;
        _replayer = new DeadLetterReplayer(pipeline, stages, _completion.Task);
        pipeline.Instruments.ObserveGauges(
            () => pipeline.Counters.InFlight,
            () => WatermarkLag(pipeline.Time.GetUtcNow().ToUnixTimeMilliseconds()),
            () => segments.Select(s => (s.HeadStage, s.QueueDepth)));
    }

    public string Name => _pipeline.Name;

    /// <summary>Gets the segments, in pipeline order (for the test driver, which waits until every worker is parked).</summary>
    internal IReadOnlyList<Segment> Segments => _segments;

    public IDeadLetterStore DeadLetters => _pipeline.DeadLetters.Store;

    public Task Completion => _completion.Task;

    private PipelineOptions Options => _pipeline.Options;

    private PipelineCounters Counters => _pipeline.Counters;

    /// <summary>Starts the workers.</summary>
    public void Start()
    {
        var workers = _workers.Select(w => Task.Run(() => RunWorkerAsync(w))).ToArray();
        _ = FinishAsync(Task.WhenAll(workers));
    }

    public bool TryWrite(T item)
    {
        if (DeadLetters.IsFull || !_input.TryWrite(item))
        {
            Counters.Add(PipelineCount.Rejected, 1);
            return false;
        }

        return true;
    }

    public ValueTask WriteAsync(T item, CancellationToken cancellationToken = default)
    {
        ThrowIfStoreFull(1);
        return _input.WriteAsync(item, cancellationToken);
    }

    public async ValueTask WriteBatchAsync(ReadOnlyMemory<T> items, CancellationToken cancellationToken = default)
    {
        var size = Options.BatchSize;
        using var activity = PipelineTracing.StartIngest(Name, items.Length);
        var trace = activity?.Context ?? default;
        for (var offset = 0; offset < items.Length; offset += size)
        {
            ThrowIfStoreFull(items.Length - offset);
            var chunk = items.Slice(offset, Math.Min(size, items.Length - offset));
            var batch = Batch<T>.Rent(chunk.Length, _pipeline.Time.GetTimestamp(), trace);
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
        }
    }

    public void Ingest(ReadOnlySpan<T> items)
    {
        if (items.IsEmpty)
        {
            return;
        }

        ThrowIfStoreFull(items.Length);
        using var activity = PipelineTracing.StartIngest(Name, items.Length);
        var trace = activity?.Context ?? default;

        // The copies are made outside any lock; the threshold check and the admission are one step, so concurrent
        // ingests cannot both pass a check that only one of them fits under.
        var batches = new List<Batch<T>>((items.Length + Options.BatchSize - 1) / Options.BatchSize);
        var now = _pipeline.Time.GetTimestamp();
        for (var offset = 0; offset < items.Length; offset += Options.BatchSize)
        {
            var chunk = items.Slice(offset, Math.Min(Options.BatchSize, items.Length - offset));
            var batch = Batch<T>.Rent(chunk.Length, now, trace);
            chunk.CopyTo(batch.Items);
            batch.Count = chunk.Length;
            batches.Add(batch);
        }

        try
        {
            lock (_ingestGate)
            {
                var inFlight = Counters.InFlight;
                if (inFlight + items.Length > Options.BackpressureThreshold)
                {
                    Counters.Add(PipelineCount.Rejected, items.Length);
                    var retryAfter = EstimateRetryAfter(inFlight, items.Length);
                    activity?.SetStatus(ActivityStatusCode.Error, "backpressure");
                    throw new BackpressureException(
                        $"Pipeline '{Name}' has {inFlight} events in flight; admitting {items.Length} more would pass its backpressure threshold of {Options.BackpressureThreshold}. Retry after {retryAfter.TotalSeconds:0.###} s.",
                        retryAfter,
                        inFlight,
                        items.Length);
                }

                _input.ForceWrite(batches);
            }
        }
        catch
        {
            foreach (var batch in batches)
            {
                batch.Return();
            }

            throw;
        }
    }

    public void Complete() => _input.Complete();

    /// <summary>Completes the pipeline because its host stops: windows not yet fired fire as <see cref="WindowFiring.Stopped"/>, not as final.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _pipeline.Stopping = true;
        return CompleteAsync(cancellationToken);
    }

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

    public PipelineMetrics GetMetrics()
    {
        var (p50, p95, p99) = _pipeline.Latency.Percentiles();
        var nowMs = _pipeline.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var stages = new List<StageMetrics>(_stages.Count);
        foreach (var op in _stages)
        {
            var stage = op.Stage;
            stages.Add(new StageMetrics(
                stage.Name,
                stage.KindName,
                stage.HeadsSegment ? stage.Segment.QueueDepth : 0,
                stage.HeadsSegment ? stage.Segment.Capacity : null,
                stage.Retries,
                stage.DeadLettered)
            {
                Watermark = WatermarkOf(op) is { } w ? DateTimeOffset.FromUnixTimeMilliseconds(w) : null,
            });
        }

        return Counters.CopyTo(new PipelineMetrics
        {
            Pipeline = Name,
            Timestamp = _pipeline.Time.GetUtcNow(),
            WatermarkLag = WatermarkLag(nowMs),
            ThroughputPerSecond = Counters.Throughput.PerSecond(),
            LatencyP50 = p50,
            LatencyP95 = p95,
            LatencyP99 = p99,
            Stages = stages,
        });
    }

    public Task<ReplayResult> ReplayDeadLettersAsync(int maxCount = int.MaxValue, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxCount);
        if (Completion.IsCompleted || _pipeline.Token.IsCancellationRequested)
        {
            throw new InvalidOperationException($"Pipeline '{Name}' has completed; replay needs a running pipeline with the same name.");
        }

        return _replayer.ReplayAsync(maxCount, cancellationToken);
    }

    public Task<long> DiscardDeadLettersAsync(DeadLetterDiscard filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        filter.ThrowIfEmpty();
        return _replayer.DiscardAsync(filter, cancellationToken);
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
            _pipeline.Cancel();
        }

        await Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _pipeline.Instruments.Dispose();
    }

    /// <summary>A window stage's watermark while it is a real time (not −∞ before the first event, not +∞ after completion).</summary>
    private static long? WatermarkOf(IStageOperator stage) =>
        stage.Watermark is { } w && w != long.MinValue && w != long.MaxValue ? w : null;

    /// <summary>How far the slowest window stage's watermark trails the clock, or <see langword="null"/> without one.</summary>
    private TimeSpan? WatermarkLag(long nowMs)
    {
        TimeSpan? lag = null;
        foreach (var stage in _stages)
        {
            if (WatermarkOf(stage) is { } w)
            {
                var behind = TimeSpan.FromMilliseconds(Math.Max(0, nowMs - w));
                lag = lag is null || behind > lag ? behind : lag;
            }
        }

        return lag;
    }

    /// <summary>Seconds until the in-flight count is likely back under the threshold, from the measured drain rate.</summary>
    private TimeSpan EstimateRetryAfter(long inFlight, int incoming)
    {
        var excess = inFlight + incoming - Options.BackpressureThreshold;
        var rate = Counters.Throughput.PerSecond();
        if (rate <= 0)
        {
            return TimeSpan.FromSeconds(1);
        }

        var seconds = Math.Max(excess, incoming) / rate;
        return TimeSpan.FromSeconds(Math.Clamp(seconds, 0.1, 60));
    }

    private async Task RunWorkerAsync(SegmentWorker worker)
    {
        try
        {
            await worker.RunAsync().ConfigureAwait(false);
        }
        catch
        {
            // A worker that fails (a bug, not a handler failure) stops the whole pipeline rather than stalling it.
            _pipeline.Cancel();
            throw;
        }
    }

    private async Task FinishAsync(Task workers)
    {
        try
        {
            await workers.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A worker fault is reported through Completion, after the pipeline is cancelled and drained.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _pipeline.Cancel();
            var lost = await DeadLetterLeftoversAsync().ConfigureAwait(false);
            FlushLog();
            _completion.TrySetException(lost is null ? [ex] : [ex, lost]);
            return;
        }

        if (_pipeline.Token.IsCancellationRequested)
        {
            // A cancelled pipeline whose leftovers could not be recorded has lost events: that is a fault, not a cancellation.
            if (await DeadLetterLeftoversAsync().ConfigureAwait(false) is { } lost)
            {
                FlushLog();
                _completion.TrySetException(lost);
            }
            else
            {
                FlushLog();
                _completion.TrySetCanceled(_pipeline.Token);
            }

            return;
        }

        foreach (var op in _operators)
        {
            op.Stop();
        }

        FlushLog();
        _completion.TrySetResult();
    }

    /// <summary>Before the completion is set: dead letters counted into a burst and not yet logged are logged now.</summary>
    private void FlushLog() => _pipeline.Log.Flush();

    /// <summary>
    /// After all workers stopped on a cancellation: dead-letter everything still in flight. Returns the store's
    /// exception when it failed, so that the completion reports it instead of never completing.
    /// </summary>
    private async Task<Exception?> DeadLetterLeftoversAsync()
    {
        var leftovers = new List<Leftover>();
        foreach (var segment in _segments)
        {
            segment.CollectLeftovers(leftovers);
        }

        foreach (var op in _operators)
        {
            op.Stop(); // window tickers too: nothing runs after a cancellation, with or without leftovers
            op.CollectLeftovers(leftovers);
        }

        _pipeline.AddLeftovers(leftovers);
        var all = _pipeline.TakeLeftovers();
        if (all.Count == 0)
        {
            return null;
        }

        try
        {
            // Counted as each is recorded: counters, throughput and the Meter alike.
            await _pipeline.DeadLetters.CanceledAsync(all, () => Counters.Add(PipelineCount.DeadLettered, 1)).ConfigureAwait(false);
            return null;
        }
#pragma warning disable CA1031 // The store's failure is reported through Completion (and logged by the recorder).
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ex;
        }
    }

    private void ThrowIfStoreFull(int count)
    {
        if (DeadLetters.IsFull)
        {
            Counters.Add(PipelineCount.Rejected, count);
            throw new DeadLetterStoreFullException($"Pipeline '{Name}' rejects new events: its dead-letter store is full. Replay dead letters, or discard those that cannot be replayed (DiscardDeadLettersAsync), to make room.");
        }
    }
}
