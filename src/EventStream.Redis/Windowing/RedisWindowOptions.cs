using System.Globalization;
using System.Text.Json;
using EventStream.Redis.Streams;
using EventStream.Windowing;

namespace EventStream.Redis.Windowing;

/// <summary>
/// Options of a <see cref="RedisWindowWorker{T}"/>: where the events come from (a stream and a consumer group), how they
/// are windowed and aggregated, and how failures are handled. Every worker of a group must use the same options
/// (except <see cref="Consumer"/>).
/// </summary>
/// <typeparam name="T">The event type.</typeparam>
public sealed class RedisWindowOptions<T>
{
    /// <summary>The largest timestamp magnitude (2^52 ms, about 142,000 years): window arithmetic runs on Lua's doubles, exact below 2^53.</summary>
    public const long MaxTimestamp = 1L << 52;

    /// <summary>Gets or sets the input stream. Entries carry the event's JSON in the field <c>event</c>.</summary>
    public string Stream { get; set; } = string.Empty;

    /// <summary>Gets or sets the consumer group: one group is one computation, shared by all of its workers.</summary>
    public string Group { get; set; } = string.Empty;

    /// <summary>Gets or sets this worker's consumer name, unique per process.</summary>
    /// <value>The default value is the machine name, the process id and a random suffix.</value>
    public string Consumer { get; set; } = string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");

    /// <summary>
    /// Gets or sets the first part of every key this worker writes. All keys of one stream share the stream's hash tag
    /// (<c>{stream}</c>, or the tag the stream key already has), so each script touches one Redis Cluster slot.
    /// </summary>
    /// <value>The default value is <c>es</c>.</value>
    public string KeyPrefix { get; set; } = "es";

    /// <summary>Gets or sets the windows: <see cref="WindowAssigner.Tumbling"/>, <see cref="WindowAssigner.Sliding"/> or <see cref="WindowAssigner.Session"/>.</summary>
    public WindowAssigner? Assigner { get; set; }

    /// <summary>Gets or sets the aggregate.</summary>
    /// <value>The default value is <see cref="RedisWindowAggregate.Count"/>.</value>
    public RedisWindowAggregate Aggregate { get; set; } = RedisWindowAggregate.Count;

    /// <summary>Gets or sets the grouping key of an event (any string, ':' and the empty string included).</summary>
    public Func<T, string>? Key { get; set; }

    /// <summary>Gets or sets the event time of an event, epoch milliseconds within ±<see cref="MaxTimestamp"/>.</summary>
    public Func<T, long>? Timestamp { get; set; }

    /// <summary>Gets or sets the number aggregated by sum, average, min and max (finite).</summary>
    public Func<T, double>? Value { get; set; }

    /// <summary>Gets or sets the value counted by <see cref="RedisWindowAggregate.DistinctCount"/>.</summary>
    public Func<T, string>? DistinctValue { get; set; }

    /// <summary>Gets or sets how far out of order events may arrive (the watermark trails the largest timestamp by this much).</summary>
    public TimeSpan OutOfOrderness { get; set; }

    /// <summary>Gets or sets how long after firing a window still takes late events (each one fires it again).</summary>
    public TimeSpan AllowedLateness { get; set; }

    /// <summary>
    /// Gets or sets how an entry's <c>event</c> field becomes a <typeparamref name="T"/>. An exception (bad JSON, a
    /// missing field) dead-letters the entry at once with its message.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: <see cref="JsonSerializer"/> with <see cref="Json"/>.</value>
    public Func<string, T>? Deserialize { get; set; }

    /// <summary>Gets or sets the JSON options of the default <see cref="Deserialize"/>.</summary>
    /// <value>The default value is <see langword="null"/>: <see cref="System.Text.Json.JsonSerializerOptions.Web"/> (camelCase, read case-insensitively), as any other client would write.</value>
    public JsonSerializerOptions? Json { get; set; }

    /// <summary>Gets or sets how many entries one read takes (and one script applies).</summary>
    /// <value>The default value is 1,000 (the fastest of 500, 1,000 and 2,000 in the benchmark).</value>
    public int BatchSize { get; set; } = 1000;

    /// <summary>Gets or sets how long an entry may stay pending (delivered, not acknowledged) before another worker claims it: a worker that died.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan ClaimIdleTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how many deliveries an entry gets: one that is still not acknowledged after this many (its worker
    /// crashed on it each time, or <see cref="Key"/> and the other selectors kept throwing) goes to the dead-letter stream.
    /// </summary>
    /// <value>The default value is 5.</value>
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>Gets or sets the first wait after a read found nothing; it doubles up to <see cref="MaxPollDelay"/> (StackExchange.Redis has no blocking reads).</summary>
    /// <value>The default value is 1 ms.</value>
    public TimeSpan MinPollDelay { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Gets or sets the longest wait between reads of an idle stream.</summary>
    /// <value>The default value is 250 ms.</value>
    public TimeSpan MaxPollDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Gets or sets when the input counts as complete: once the stream has had no new entries for this long and nothing
    /// is pending in the group, every window still open fires (once across the group) and
    /// <see cref="RedisWindowWorker{T}.RunAsync"/> returns. <see langword="null"/>: run until cancelled. Completion is
    /// for the group and final: the watermark stays at the end of time, so entries added later are late (use a new
    /// group, or a new stream, for new input).
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public TimeSpan? CompleteWhenIdle { get; set; }

    /// <summary>
    /// Gets or sets whether workers trim the input stream (<c>XTRIM MINID ~</c>, every <see cref="ClaimIdleTime"/> / 4)
    /// below what every consumer group of the stream has acknowledged: never past an entry still pending or not yet
    /// delivered to any group. The stream is never capped by length. Turn it off when other readers without a group
    /// (plain <c>XREAD</c>) need the history.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool TrimAcknowledged { get; set; } = true;

    /// <summary>Gets or sets the clock of polling, claiming and idle detection.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The most slices (of gcd(size, slide)) a sliding window may hold: its firing reads them all in one script.</summary>
    internal const long MaxSlicesPerWindow = 1000;

    /// <summary>Throws an <see cref="ArgumentException"/> that lists every problem.</summary>
    internal void Validate()
    {
        var problems = StreamGroupProblems.Of(Stream, Group, Consumer, KeyPrefix);

        if (Assigner is null)
        {
            problems.Add("Assigner is required (WindowAssigner.Tumbling, Sliding or Session)");
        }
        else if (Assigner is SlidingAssigner sliding && sliding.Size / sliding.Pane > MaxSlicesPerWindow)
        {
            // A window's state is read slice by slice when it fires, in one script (Lua takes at most ~8,000 values at once).
            problems.Add($"a {sliding} window holds {sliding.Size / sliding.Pane} slices of {sliding.Pane} ms (gcd of size and slide); at most {MaxSlicesPerWindow} are supported: make the slide a coarser divisor of the size");
        }

        if (Key is null)
        {
            problems.Add("Key is required");
        }

        if (Timestamp is null)
        {
            problems.Add("Timestamp is required");
        }

        if (Aggregate is RedisWindowAggregate.Sum or RedisWindowAggregate.Average or RedisWindowAggregate.Min or RedisWindowAggregate.Max && Value is null)
        {
            problems.Add($"Value is required for {Aggregate}");
        }

        if (Aggregate == RedisWindowAggregate.DistinctCount && DistinctValue is null)
        {
            problems.Add("DistinctValue is required for DistinctCount");
        }

        if (!Enum.IsDefined(Aggregate))
        {
            problems.Add($"Aggregate {(int)Aggregate} is not defined");
        }

        if (OutOfOrderness < TimeSpan.Zero || AllowedLateness < TimeSpan.Zero)
        {
            problems.Add("OutOfOrderness and AllowedLateness must not be negative");
        }

        if (BatchSize is < 1 or > 10_000)
        {
            problems.Add($"BatchSize must be 1..10000 (was {BatchSize})");
        }

        if (ClaimIdleTime < TimeSpan.FromMilliseconds(10))
        {
            problems.Add($"ClaimIdleTime must be at least 10 ms (was {ClaimIdleTime})");
        }

        if (MaxDeliveries < 1)
        {
            problems.Add($"MaxDeliveries must be at least 1 (was {MaxDeliveries})");
        }

        if (MinPollDelay <= TimeSpan.Zero || MaxPollDelay < MinPollDelay)
        {
            problems.Add("MinPollDelay must be positive and MaxPollDelay at least MinPollDelay");
        }

        if (CompleteWhenIdle is { } idle && idle <= TimeSpan.Zero)
        {
            problems.Add("CompleteWhenIdle must be positive");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("RedisWindowOptions: " + string.Join("; ", problems) + ".", "options");
        }
    }
}
