using EventStream.Redis.Streams;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace EventStream.Redis;

/// <summary>
/// Publishes events to a Redis Stream, one entry per event with the field <c>event</c> holding its JSON. A batch is one
/// round trip (every <c>XADD</c> is sent before any reply is awaited). When <see cref="RedisStreamOptions.Group"/> is
/// set, a batch is refused whole with a <see cref="BackpressureException"/> once that group's lag passes
/// <see cref="RedisStreamOptions.LagThreshold"/>; <c>RetryAfter</c> comes from the group's measured read rate. The stream
/// is never capped by length (that would delete unprocessed entries). Thread-safe.
/// </summary>
/// <typeparam name="T">The event type.</typeparam>
public sealed class RedisStreamProducer<T>
{
    private readonly IDatabase _db;
    private readonly RedisStreamOptions _options;
    private readonly JsonSerializerOptions _json;
    private readonly object _lock = new();
    private long _lag;
    private long _lagReadAt = long.MinValue;
    private bool _groupEnsured;
    private long _entriesRead = -1;
    private long _entriesReadAt;
    private double _readRate;

    /// <summary>Creates a producer.</summary>
    /// <param name="redis">The connection (one long-lived multiplexer per process).</param>
    /// <param name="options">The options; <see cref="RedisStreamOptions.Stream"/> is required.</param>
    public RedisStreamProducer(IConnectionMultiplexer redis, RedisStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Stream))
        {
            throw new ArgumentException("RedisStreamOptions.Stream is required.", nameof(options));
        }

        if (options.LagThreshold < 1)
        {
            throw new ArgumentException($"RedisStreamOptions.LagThreshold must be at least 1 (was {options.LagThreshold}).", nameof(options));
        }

        _db = redis.GetDatabase();
        _options = options;
        _json = options.Json ?? RedisJson.Default;
    }

    /// <summary>Publishes a batch in one round trip.</summary>
    /// <param name="events">The events.</param>
    /// <param name="cancellationToken">A cancellation token (checked before sending).</param>
    /// <returns>The stream entry ids, in order.</returns>
    /// <exception cref="BackpressureException">The group's lag is past the threshold; nothing was published.</exception>
    public Task<IReadOnlyList<string>> PublishAsync(IReadOnlyList<T> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var json = new string[events.Count];
        for (var i = 0; i < json.Length; i++)
        {
            json[i] = JsonSerializer.Serialize(events[i], _json);
        }

        return PublishJsonAsync(json, cancellationToken);
    }

    /// <summary>
    /// Publishes events that are JSON already (an HTTP body, a line of a file), as they are: they are not parsed here,
    /// so a malformed one reaches the consumers, which dead-letter it with the reason. One round trip per batch.
    /// </summary>
    /// <param name="events">The events' JSON texts.</param>
    /// <param name="cancellationToken">A cancellation token (checked before sending).</param>
    /// <returns>The stream entry ids, in order.</returns>
    /// <exception cref="BackpressureException">The group's lag is past the threshold; nothing was published.</exception>
    public async Task<IReadOnlyList<string>> PublishJsonAsync(IReadOnlyList<string> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return [];
        }

        if (_options.Group is { } group)
        {
            var lag = await GetLagAsync().ConfigureAwait(false);
            if (lag + events.Count > _options.LagThreshold && lag > 0)
            {
                var retryAfter = RetryAfter(lag, events.Count);
                throw new BackpressureException(
                    string.Create(CultureInfo.InvariantCulture, $"Stream '{_options.Stream}': group '{group}' lags {lag} entries behind; publishing {events.Count} more would pass the threshold of {_options.LagThreshold}. Retry after {retryAfter.TotalSeconds:0.###} s."),
                    retryAfter,
                    lag,
                    events.Count);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var key = (RedisKey)_options.Stream;
        var sends = new Task<RedisValue>[events.Count];

        // The caller's trace context travels beside each event, so the consumer's spans and dead letters join its trace.
        var traceParent = Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;
        for (var i = 0; i < events.Count; i++)
        {
            sends[i] = traceParent is null
                ? _db.StreamAddAsync(key, "event", events[i])
                : _db.StreamAddAsync(key, [new NameValueEntry("event", events[i]), new NameValueEntry(StreamFields.TraceParent, traceParent)]);
        }

        var ids = new string[sends.Length];
        for (var i = 0; i < sends.Length; i++)
        {
            ids[i] = (await sends[i].ConfigureAwait(false)).ToString();
        }

        lock (_lock)
        {
            _lag += events.Count; // until the next reading, count what we added
        }

        return ids;
    }

    /// <summary>The group's lag: entries added to the stream and not yet delivered to the group (cached for <see cref="RedisStreamOptions.LagCheckInterval"/>).</summary>
    /// <returns>The lag, or 0 without a group.</returns>
    public async Task<long> GetLagAsync()
    {
        if (_options.Group is not { } group)
        {
            return 0;
        }

        var time = _options.TimeProvider;
        lock (_lock)
        {
            if (_lagReadAt != long.MinValue && time.GetElapsedTime(_lagReadAt) < _options.LagCheckInterval)
            {
                return _lag;
            }
        }

        var (lag, entriesRead) = await ReadGroupAsync(group).ConfigureAwait(false);
        var now = time.GetTimestamp();
        lock (_lock)
        {
            if (_entriesRead >= 0 && entriesRead >= _entriesRead)
            {
                var seconds = time.GetElapsedTime(_entriesReadAt, now).TotalSeconds;
                if (seconds > 0)
                {
                    _readRate = (entriesRead - _entriesRead) / seconds;
                }
            }

            _entriesRead = entriesRead;
            _entriesReadAt = now;
            _lag = lag;
            _lagReadAt = now;
            return lag;
        }
    }

    private async Task<(long Lag, long EntriesRead)> ReadGroupAsync(string group)
    {
        // The first reading makes the group when no consumer has yet (from the first entry, as a consumer would), so a
        // producer may start before its consumers.
        if (!_groupEnsured)
        {
            await ConsumerGroup.EnsureCreatedAsync(_db, _options.Stream, group).ConfigureAwait(false);
            _groupEnsured = true;
        }

        foreach (var info in await _db.StreamGroupInfoAsync(_options.Stream).ConfigureAwait(false))
        {
            if (info.Name != group)
            {
                continue;
            }

            var entriesRead = info.EntriesRead ?? 0;
            if (info.Lag is { } lag)
            {
                return (lag, entriesRead);
            }

            // Redis 7.0 cannot always tell the lag (after deletions): fall back to the stream length less what was read.
            var length = await _db.StreamLengthAsync(_options.Stream).ConfigureAwait(false);
            return (Math.Max(0, length - entriesRead), entriesRead);
        }

        throw new InvalidOperationException($"Stream '{_options.Stream}' has no consumer group '{group}'.");
    }

    private TimeSpan RetryAfter(long lag, int incoming)
    {
        double rate;
        lock (_lock)
        {
            rate = _readRate;
        }

        if (rate <= 0)
        {
            return TimeSpan.FromSeconds(1);
        }

        var excess = Math.Max(lag + incoming - _options.LagThreshold, incoming);
        return TimeSpan.FromSeconds(Math.Clamp(excess / rate, 0.1, 60));
    }
}
