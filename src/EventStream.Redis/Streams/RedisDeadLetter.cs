using System.Globalization;

namespace EventStream.Redis;

/// <summary>One entry of a dead-letter stream.</summary>
/// <param name="Id">The dead letter's id in the dead-letter stream (what <see cref="RedisDeadLetters.ReplayAsync(string)"/> takes).</param>
/// <param name="SourceId">The entry's id in the input stream.</param>
/// <param name="Event">The event's JSON, as it was produced.</param>
/// <param name="Stage">The stage that gave up on it.</param>
/// <param name="Error">Why: the exception type and message, or the delivery count.</param>
/// <param name="Attempts">Deliveries or attempts made.</param>
/// <param name="FailedAt">When it was dead-lettered.</param>
public sealed record RedisDeadLetter(string Id, string SourceId, string Event, string Stage, string Error, int Attempts, DateTimeOffset FailedAt)
{
    /// <summary>Gets when the entry was added to the input stream (the time part of <see cref="SourceId"/>).</summary>
    public DateTimeOffset ProducedAt =>
        long.TryParse(SourceId.AsSpan(0, Math.Max(0, SourceId.IndexOf('-', StringComparison.Ordinal))), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : DateTimeOffset.MinValue;
}
