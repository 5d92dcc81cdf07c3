namespace EventStream;

/// <summary>
/// Which dead letters to discard (see <see cref="IDeadLetterStore.DiscardAsync"/> and
/// <see cref="IEventPipeline{T}.DiscardDeadLettersAsync"/>). An entry is discarded when it matches every criterion that is
/// set; at least one must be set. To discard every entry of a pipeline, set <see cref="OlderThan"/> to
/// <see cref="DateTimeOffset.MaxValue"/>.
/// </summary>
/// <example>
/// All late events: <c>new DeadLetterDiscard { Reason = DeadLetterReason.Late }</c>. Failures not retried for a day:
/// <c>new DeadLetterDiscard { OlderThan = now.AddDays(-1) }</c>.
/// </example>
public sealed record DeadLetterDiscard
{
    /// <summary>Gets the ids of the entries to discard; ids not in the store (or of another pipeline) are ignored.</summary>
    /// <value>The default value is <see langword="null"/>: any id.</value>
    public IReadOnlyCollection<string>? Ids { get; init; }

    /// <summary>Gets the reason the entries to discard were dead-lettered for.</summary>
    /// <value>The default value is <see langword="null"/>: any reason.</value>
    public DeadLetterReason? Reason { get; init; }

    /// <summary>
    /// Gets the time before which an entry must have last failed (<see cref="DeadLetterEntry.LastFailure"/>, strictly
    /// earlier) to be discarded. The last failure, not the first: an entry that a replay has just tried again is still
    /// being worked on and stays.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: any time.</value>
    public DateTimeOffset? OlderThan { get; init; }

    /// <summary>Gets whether an entry matches every criterion that is set.</summary>
    /// <param name="entry">The entry.</param>
    /// <returns><see langword="true"/> when the entry is to be discarded.</returns>
    public bool Matches(DeadLetterEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return (Ids is null || Ids.Contains(entry.Id, StringComparer.Ordinal)) && MatchesReasonAndTime(entry);
    }

    /// <summary>The criteria other than <see cref="Ids"/>, for stores that look entries up by id.</summary>
    internal bool MatchesReasonAndTime(DeadLetterEntry entry) =>
        (Reason is null || entry.Reason == Reason) && (OlderThan is null || entry.LastFailure < OlderThan);

    /// <summary>A matcher for many entries: the ids, if any, in a set.</summary>
    internal Func<DeadLetterEntry, bool> Matcher()
    {
        if (Ids is null)
        {
            return MatchesReasonAndTime;
        }

        var ids = new HashSet<string>(Ids, StringComparer.Ordinal);
        return entry => ids.Contains(entry.Id) && MatchesReasonAndTime(entry);
    }

    /// <summary>Describes the filter, for logs: <c>ids: 3, reason: Late, older than: …</c>.</summary>
    /// <returns>The description.</returns>
    public override string ToString()
    {
        var parts = new List<string>(3);
        if (Ids is not null)
        {
            parts.Add(Ids.Count <= 3 ? $"ids: {string.Join(", ", Ids)}" : $"ids: {Ids.Count}");
        }

        if (Reason is { } reason)
        {
            parts.Add($"reason: {reason}");
        }

        if (OlderThan is { } olderThan)
        {
            parts.Add($"last failure before: {olderThan:O}");
        }

        return parts.Count == 0 ? "(nothing)" : string.Join("; ", parts);
    }

    /// <summary>Throws when no criterion is set: discarding everything must be asked for (see the type's remarks).</summary>
    internal void ThrowIfEmpty()
    {
        if (Ids is null && Reason is null && OlderThan is null)
        {
            throw new ArgumentException(
                "DeadLetterDiscard sets no criterion (Ids, Reason or OlderThan); to discard every entry set OlderThan = DateTimeOffset.MaxValue.",
                "filter");
        }
    }

    /// <summary>What a store without a discard of its own does: lists the entries, and removes those that match, one by one.</summary>
    internal static async ValueTask<long> DiscardByListingAsync(IDeadLetterStore store, string? pipeline, DeadLetterDiscard filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        filter.ThrowIfEmpty();
        var entries = await store.ListAsync(pipeline, int.MaxValue, cancellationToken).ConfigureAwait(false);
        var matches = filter.Matcher();
        long discarded = 0;
        foreach (var entry in entries)
        {
            if (matches(entry) && await store.RemoveAsync(entry.Id, CancellationToken.None).ConfigureAwait(false))
            {
                discarded++;
            }
        }

        return discarded;
    }
}
