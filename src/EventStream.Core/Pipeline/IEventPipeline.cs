
namespace EventStream;

/// <summary>
/// A running pipeline that takes events of type <typeparamref name="T"/>. Built by
/// <see cref="PipelineBuilder{TIn, TOut}.Build"/>; its workers start at once. Thread-safe: any number of producers may write
/// concurrently.
/// </summary>
/// <typeparam name="T">The input event type.</typeparam>
/// <remarks>
/// Every event admitted ends exactly once as delivered to the sink, filtered, dead-lettered, late (behind a window
/// stage's watermark) or windowed (absorbed into window state; the window results are new events):
/// <c>Accepted + FannedOut + Replayed + WindowResults = Delivered + Filtered + DeadLettered + Late + Duplicates + Windowed</c> once the
/// pipeline has completed. Disposing the pipeline before it completes cancels it; the events it still holds in flight are
/// dead-lettered with reason <see cref="DeadLetterReason.Canceled"/>, and windows not yet fired are dropped unfired.
/// </remarks>
public interface IEventPipeline<T> : IAsyncDisposable
{
    /// <summary>Gets the pipeline name.</summary>
    string Name { get; }

    /// <summary>Gets the dead-letter store the pipeline records into.</summary>
    IDeadLetterStore DeadLetters { get; }

    /// <summary>Gets a task that completes when the pipeline has drained after <see cref="Complete"/>, or is cancelled by disposal.</summary>
    Task Completion { get; }

    /// <summary>Writes an event if the input queue has room; never waits.</summary>
    /// <param name="item">The event.</param>
    /// <returns><see langword="true"/> when the event was admitted.</returns>
    /// <exception cref="InvalidOperationException">The pipeline has been completed.</exception>
    bool TryWrite(T item);

    /// <summary>Writes an event, waiting while the input queue is full (backpressure).</summary>
    /// <param name="item">The event.</param>
    /// <param name="cancellationToken">Cancels the wait; a cancelled write admitted nothing.</param>
    /// <returns>A task that completes when the event is admitted.</returns>
    /// <exception cref="InvalidOperationException">The pipeline has been completed.</exception>
    /// <exception cref="DeadLetterStoreFullException">The dead-letter store is full and rejects ingest.</exception>
    ValueTask WriteAsync(T item, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes events in batches of <see cref="PipelineOptions.BatchSize"/>, waiting for room before each batch. When cancelled,
    /// the batches written before the cancellation stay admitted (see <see cref="PipelineMetrics.Accepted"/>).
    /// </summary>
    /// <param name="items">The events.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when every event is admitted.</returns>
    ValueTask WriteBatchAsync(ReadOnlyMemory<T> items, CancellationToken cancellationToken = default);

    /// <summary>
    /// The non-waiting door for HTTP-style producers: admits the whole batch, or — once the events in flight would pass
    /// <see cref="PipelineOptions.BackpressureThreshold"/> — rejects the whole batch with a
    /// <see cref="BackpressureException"/> whose <see cref="BackpressureException.RetryAfter"/> is estimated from the
    /// measured drain rate. The input capacity does not apply to this door; the threshold does.
    /// </summary>
    /// <param name="items">The events.</param>
    /// <exception cref="BackpressureException">Too many events in flight; nothing was admitted.</exception>
    /// <exception cref="DeadLetterStoreFullException">The dead-letter store is full and rejects ingest; nothing was admitted.</exception>
    /// <exception cref="InvalidOperationException">The pipeline has been completed.</exception>
    void Ingest(ReadOnlySpan<T> items);

    /// <summary>
    /// <see cref="Ingest"/> for an implementation whose admission does I/O — an <see cref="IEventPipeline{T}"/> of the
    /// application's own that publishes to a broker — so that the caller's thread is not held while it waits. The HTTP
    /// door of EventStream.AspNetCore admits through this. Same contract: the whole batch or nothing, refused at once,
    /// never waiting for room.
    /// </summary>
    /// <remarks>The default implementation calls <see cref="Ingest"/>; the library's own pipelines admit in memory and keep it.</remarks>
    /// <param name="items">The events.</param>
    /// <param name="cancellationToken">Abandons an admission that does I/O (whether the batch was admitted is then the implementation's to say).</param>
    /// <returns>A task that completes once the batch is admitted.</returns>
    /// <exception cref="BackpressureException">Too many events in flight; nothing was admitted.</exception>
    /// <exception cref="DeadLetterStoreFullException">The dead-letter store is full and rejects ingest; nothing was admitted.</exception>
    /// <exception cref="InvalidOperationException">The pipeline has been completed.</exception>
    ValueTask IngestAsync(ReadOnlyMemory<T> items, CancellationToken cancellationToken = default)
    {
        Ingest(items.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>Stops admitting events. The pipeline drains what it holds, retries included; then <see cref="Completion"/> completes.</summary>
    void Complete();

    /// <summary>Completes the pipeline and waits until it has drained.</summary>
    /// <param name="cancellationToken">Stops waiting and cancels the pipeline, dead-lettering what it still holds.</param>
    /// <returns>A task that completes when the pipeline has drained.</returns>
    Task CompleteAsync(CancellationToken cancellationToken = default);

    /// <summary>Takes a snapshot of the pipeline's metrics.</summary>
    /// <returns>The snapshot.</returns>
    PipelineMetrics GetMetrics();

    /// <summary>
    /// Replays this pipeline's dead letters, oldest first: each event re-enters the stage that failed. An entry leaves the
    /// store only once its event has passed that stage; if it fails again it stays, re-recorded with the new failure. If
    /// the pipeline is cancelled first, the call returns and the event counts as failed again (it is dead-lettered once
    /// more as cancelled, while its entry stays). A full store in <see cref="DeadLetterFullMode.Wait"/> mode blocks the stage that would record a
    /// failure, replays included: make room by removing or discarding entries, not by replaying into the same pipeline.
    /// </summary>
    /// <param name="maxCount">The most entries to replay.</param>
    /// <param name="cancellationToken">Stops waiting for outcomes (replayed events go on).</param>
    /// <returns>How many were replayed, failed again, or skipped.</returns>
    /// <exception cref="InvalidOperationException">The pipeline has completed or was cancelled.</exception>
    Task<ReplayResult> ReplayDeadLettersAsync(int maxCount = int.MaxValue, CancellationToken cancellationToken = default);

    /// <summary>
    /// Discards this pipeline's dead letters that match a filter (see <see cref="IDeadLetterStore.DiscardAsync"/>): they
    /// leave the store for good, so a store that was full accepts ingest again once it is below capacity. Each is counted
    /// in <see cref="PipelineMetrics.Discarded"/> (and stays counted as dead-lettered or late), and the call logs one
    /// Warning line with the count and the filter. Entries being replayed are left alone (their replay decides). Works
    /// on a completed pipeline too.
    /// </summary>
    /// <param name="filter">Which entries; at least one criterion must be set.</param>
    /// <param name="cancellationToken">Cancels the call before anything is discarded; once the store is discarding, it finishes.</param>
    /// <returns>How many entries were discarded.</returns>
    /// <exception cref="ArgumentException"><paramref name="filter"/> sets no criterion.</exception>
    /// <exception cref="NotSupportedException">The pipeline keeps no dead-letter store of its own that it could discard from.</exception>
    Task<long> DiscardDeadLettersAsync(DeadLetterDiscard filter, CancellationToken cancellationToken = default);
}
