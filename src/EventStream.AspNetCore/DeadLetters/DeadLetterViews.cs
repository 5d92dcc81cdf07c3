namespace EventStream.AspNetCore;

/// <summary>A dead letter as the admin endpoints show it.</summary>
/// <param name="Id">The entry's id (what discard by id takes).</param>
/// <param name="Stage">The stage that failed (<c>ingest</c> for an element the HTTP door could not read).</param>
/// <param name="Reason">Why it is here: <c>failed</c>, <c>canceled</c> or <c>late</c>.</param>
/// <param name="ExceptionType">The failure's exception type, if any.</param>
/// <param name="Message">The failure's message.</param>
/// <param name="Attempts">How many times the stage ran it.</param>
/// <param name="Replays">How many times it was replayed.</param>
/// <param name="FirstFailure">When it first failed.</param>
/// <param name="LastFailure">When it last failed.</param>
/// <param name="Event">The event as JSON text (or its text as received, for an element the door could not read).</param>
/// <param name="TraceId">The W3C trace id of the request that brought the event in, when it was traced: look it up in the tracing backend.</param>
public sealed record DeadLetterView(
    string Id,
    string Stage,
    string Reason,
    string? ExceptionType,
    string? Message,
    int Attempts,
    int Replays,
    DateTimeOffset FirstFailure,
    DateTimeOffset LastFailure,
    string? Event,
    string? TraceId);

/// <summary>A page of dead letters: how many the pipeline has, a page of them oldest first, and where the next page starts.</summary>
/// <param name="Count">How many dead letters the pipeline has in its store.</param>
/// <param name="Entries">The page's entries, oldest first, up to the limit asked for.</param>
/// <param name="Next">The cursor for the next page (<c>?after=</c>), or <see langword="null"/> on the last page.</param>
public sealed record DeadLetterPage(long Count, IReadOnlyList<DeadLetterView> Entries, string? Next);

/// <summary>What a replay did.</summary>
/// <param name="Replayed">Entries whose event passed the stage that had failed; they left the store.</param>
/// <param name="FailedAgain">Entries whose event failed again; they stay, re-recorded.</param>
/// <param name="Skipped">Entries that could not be replayed (another pipeline's, or a stage that no longer exists).</param>
/// <param name="Remaining">How many dead letters the pipeline has after the replay.</param>
public sealed record DeadLetterReplayAnswer(int Replayed, int FailedAgain, int Skipped, long Remaining);

/// <summary>Which dead letters to discard: every criterion given must match; at least one is required.</summary>
/// <param name="Ids">Entries by id.</param>
/// <param name="Reason">Entries with this reason: <c>failed</c>, <c>canceled</c> or <c>late</c>.</param>
/// <param name="OlderThan">Entries whose last failure is before this time.</param>
public sealed record DeadLetterDiscardRequest(IReadOnlyList<string>? Ids = null, string? Reason = null, DateTimeOffset? OlderThan = null);

/// <summary>What a discard did.</summary>
/// <param name="Discarded">How many entries were discarded (counted as <c>Discarded</c> in the pipeline's metrics).</param>
/// <param name="Remaining">How many dead letters the pipeline has after the discard.</param>
public sealed record DeadLetterDiscardAnswer(long Discarded, long Remaining);
