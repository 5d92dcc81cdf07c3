namespace EventStream;

/// <summary>One page of a dead-letter listing (<see cref="IDeadLetterStore.ListPageAsync"/>): entries oldest first, and where the next page starts.</summary>
/// <param name="Entries">The page's entries, oldest first.</param>
/// <param name="Next">
/// The cursor to pass as <c>after</c> for the next page, or <see langword="null"/> when this page is the last. It is a
/// position in the store, not an entry: entries replayed or discarded meanwhile do not shift the pages after it.
/// </param>
public sealed record DeadLetterListPage(IReadOnlyList<DeadLetterEntry> Entries, string? Next);
