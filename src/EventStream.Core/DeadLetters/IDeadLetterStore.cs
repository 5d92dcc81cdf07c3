using EventStream.DeadLetters;

namespace EventStream;

/// <summary>
/// Where events go when they cannot be processed. Implementations must never drop an entry: when full they either
/// make <see cref="AddAsync"/> wait, or report <see cref="IsFull"/> so that pipelines stop admitting new events.
/// </summary>
public interface IDeadLetterStore
{
    /// <summary>
    /// Gets whether the store is full and pipelines must reject new events (their ingest throws
    /// <see cref="DeadLetterStoreFullException"/>) until entries are replayed, removed or discarded. Entries of events already
    /// admitted are still recorded.
    /// </summary>
    bool IsFull { get; }

    /// <summary>Records an entry. May wait for room, depending on the store.</summary>
    /// <param name="entry">The entry.</param>
    /// <param name="cancellationToken">Cancels the wait for room.</param>
    /// <returns>A task that completes when the entry is recorded.</returns>
    ValueTask AddAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Replaces an entry that exists (same <see cref="DeadLetterEntry.Id"/>), after a replay failed again.</summary>
    /// <param name="entry">The updated entry.</param>
    /// <param name="cancellationToken">A cancellation token.</param>
    /// <returns>A task that completes when the entry is recorded.</returns>
    ValueTask ReplaceAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Lists entries, oldest first.</summary>
    /// <param name="pipeline">Only entries of this pipeline, or all when <see langword="null"/>.</param>
    /// <param name="limit">The most entries to return.</param>
    /// <param name="cancellationToken">A cancellation token.</param>
    /// <returns>The entries.</returns>
    ValueTask<IReadOnlyList<DeadLetterEntry>> ListAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists a page of entries, oldest first, after a cursor from the page before: a listing of any length, a page at a
    /// time, that neither repeats nor skips an entry when others are replayed or discarded between pages.
    /// </summary>
    /// <remarks>
    /// The default implementation, for stores written before this member, pages by position in <see cref="ListAsync"/>'s
    /// order (so entries removed between pages shift the later pages); the in-memory and Redis stores page by each
    /// entry's place in the store, which removals do not change.
    /// </remarks>
    /// <param name="pipeline">Only entries of this pipeline, or all when <see langword="null"/>.</param>
    /// <param name="limit">The most entries on the page (at least 1).</param>
    /// <param name="after">The <see cref="DeadLetterListPage.Next"/> of the page before, or <see langword="null"/> for the first page.</param>
    /// <param name="cancellationToken">A cancellation token.</param>
    /// <returns>The page, and the cursor of the next one.</returns>
    /// <exception cref="ArgumentException"><paramref name="after"/> is not a cursor this store gave.</exception>
    ValueTask<DeadLetterListPage> ListPageAsync(string? pipeline, int limit, string? after, CancellationToken cancellationToken = default) =>
        DeadLetterPaging.ByOffsetAsync(this, pipeline, limit, after, cancellationToken);

    /// <summary>Counts entries.</summary>
    /// <param name="pipeline">Only entries of this pipeline, or all when <see langword="null"/>.</param>
    /// <param name="cancellationToken">A cancellation token.</param>
    /// <returns>The count.</returns>
    ValueTask<long> CountAsync(string? pipeline = null, CancellationToken cancellationToken = default);

    /// <summary>Removes an entry.</summary>
    /// <param name="id">The entry id.</param>
    /// <param name="cancellationToken">A cancellation token.</param>
    /// <returns><see langword="true"/> when the entry existed and was removed.</returns>
    ValueTask<bool> RemoveAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Discards the entries that match a filter: they leave the store for good, and their room is free again (a full store
    /// accepts ingest once it is below its capacity). Use it when entries cannot be replayed usefully, such as late events
    /// whose windows are gone. A pipeline's <see cref="IEventPipeline{T}.DiscardDeadLettersAsync"/> calls this and counts
    /// what was discarded in <see cref="PipelineMetrics.Discarded"/>; calling the store directly counts nothing.
    /// </summary>
    /// <remarks>
    /// The default implementation, for stores written before this member, lists the entries and removes those that match
    /// one by one with <see cref="RemoveAsync"/>; the in-memory and Redis stores discard in place. A discard is not one
    /// atomic step over all entries: entries added meanwhile may or may not be discarded, but each entry counted was removed.
    /// </remarks>
    /// <param name="pipeline">Only entries of this pipeline, or all when <see langword="null"/>.</param>
    /// <param name="filter">Which entries; at least one criterion must be set.</param>
    /// <param name="cancellationToken">A cancellation token, observed before anything is discarded.</param>
    /// <returns>How many entries were discarded.</returns>
    /// <exception cref="ArgumentException"><paramref name="filter"/> sets no criterion.</exception>
    ValueTask<long> DiscardAsync(string? pipeline, DeadLetterDiscard filter, CancellationToken cancellationToken = default) =>
        DeadLetterDiscard.DiscardByListingAsync(this, pipeline, filter, cancellationToken);

    /// <summary>
    /// Records an entry without waiting for room: after a cancellation nothing admitted may be lost, so a store that
    /// bounds its size takes the entry past its capacity. A store without a bound just adds it.
    /// </summary>
    internal ValueTask AddPastCapacityAsync(DeadLetterEntry entry) => AddAsync(entry, CancellationToken.None);
}
