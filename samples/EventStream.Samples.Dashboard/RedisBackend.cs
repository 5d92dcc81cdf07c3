using EventStream.Redis;
using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// The dashboard with <c>--redis</c>: every instance writes the events it admits into one input stream, and the
/// pipeline runs partitioned over it (<see cref="PartitionedOptions"/>: each instance owns some partitions, commits
/// their windows, and the live figures of every instance come from the committed results of all partitions, see
/// <see cref="CommittedFigures"/>). The dead letters of the computation are its partitions' (listed from any instance);
/// the bad elements of POSTs, which only the instance that received them sees, go to a <see cref="RedisDeadLetterStore"/>
/// of their own. The demo fault is one switch in Redis for all instances.
/// </summary>
public sealed partial class RedisBackend : IDashboardBackend, IHostedService
{
    private static readonly TimeSpan ReadingsMaxAge = TimeSpan.FromMilliseconds(250);
    private readonly IDatabase _db;
    private readonly DashboardRedis _settings;
    private readonly IEventPipeline<SiteEvent> _pipeline;
    private readonly FaultSwitch _fault;
    private readonly TimeProvider _time;
    private readonly RedisStreamProducer<SiteEvent> _producer;
    private readonly RedisDeadLetterStore _rejected;
    private readonly Reading<(long Length, long Added)> _stream;
    private readonly Reading<bool> _faultReading;
    private readonly Reading<long> _deadLetters;
    private readonly Reading<long> _late;
    private long _admittedSinceReading;

    public RedisBackend(IConnectionMultiplexer redis, DashboardRedis settings, IEventPipeline<SiteEvent> pipeline, FaultSwitch fault, TimeProvider time)
    {
        _db = redis.GetDatabase();
        _settings = settings;
        _pipeline = pipeline;
        _fault = fault;
        _time = time;

        // No consumer group, so no group lag to watch: the backlog is checked here, before publishing (AdmitAsync).
        _producer = new RedisStreamProducer<SiteEvent>(redis, new RedisStreamOptions { Stream = settings.Partitioned.Stream, TimeProvider = time });
        _rejected = new RedisDeadLetterStore(redis, new RedisDeadLetterStoreOptions { KeyPrefix = settings.RejectedPrefix });
        _stream = new Reading<(long, long)>(ReadStreamAsync, ReadingsMaxAge, time, _ => Interlocked.Exchange(ref _admittedSinceReading, 0));
        _faultReading = new Reading<bool>(async () => await _db.StringGetAsync(settings.FaultKey).ConfigureAwait(false) == "1", ReadingsMaxAge, time, on => fault.Enabled = on);
        _deadLetters = new Reading<long>(() => CountDeadLettersAsync(CancellationToken.None), ReadingsMaxAge, time);
        _late = new Reading<long>(async () => (await RedisPartitionedPipeline.ReadMetricsAsync(redis, settings.Partitioned).ConfigureAwait(false)).Late, TimeSpan.FromSeconds(1), time);
    }

    /// <summary>
    /// Publishes the batch into the input stream, one entry per event (marked with <see cref="SiteEvent.GeoFault"/> while
    /// the demo fault is on), or refuses it whole.
    /// </summary>
    /// <remarks>
    /// Backpressure: there is no consumer group on the partitioned path, so no group lag. The computation trims its input
    /// below the oldest position any of its partitions has committed (every few seconds), so the stream's length is the
    /// backlog: entries some partition has not committed yet, plus what arrived since the last trim. A batch is refused
    /// with 429 once that length (read at most every 250 ms, plus what this instance published since) and the batch pass
    /// <c>--capacity</c>. It errs on the side of refusing early (by up to one trim interval of input), and it counts what
    /// every instance and any other client wrote. Retry-After is the excess over the rate this instance reads the stream
    /// at (each instance reads all of it).
    /// </remarks>
    public async ValueTask AdmitAsync(IReadOnlyList<SiteEvent> events, CancellationToken cancellationToken)
    {
        var (length, _) = await _stream.GetAsync().ConfigureAwait(false);
        var backlog = length + Interlocked.Read(ref _admittedSinceReading);
        if (backlog + events.Count > _settings.Capacity)
        {
            var rate = _pipeline.GetMetrics().ThroughputPerSecond;
            var excess = backlog + events.Count - _settings.Capacity;
            var retryAfter = rate > 0 ? TimeSpan.FromSeconds(Math.Clamp(excess / rate, 1, 60)) : TimeSpan.FromSeconds(1);
            throw new BackpressureException(
                string.Create(CultureInfo.InvariantCulture, $"Stream '{_settings.Partitioned.Stream}' holds {backlog} entries not yet committed by every partition; {events.Count} more would pass the backpressure threshold of {_settings.Capacity}."),
                retryAfter,
                backlog,
                events.Count);
        }

        var marked = await _faultReading.GetAsync().ConfigureAwait(false) ? [.. events.Select(e => e with { GeoFault = true })] : events;
        await _producer.PublishAsync(marked, cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref _admittedSinceReading, events.Count);
    }

    /// <summary>Into the store of rejected elements: only this instance has seen them, so the partitions' commits cannot record them.</summary>
    public ValueTask RejectAsync(DeadLetterEntry entry, CancellationToken cancellationToken) => _rejected.AddAsync(entry, cancellationToken);

    /// <summary>The computation's dead letters (every partition's, whoever owns it), then the rejected elements of POSTs.</summary>
    public async Task<IReadOnlyList<DeadLetterEntry>> ListDeadLettersAsync(int limit, CancellationToken cancellationToken)
    {
        // Not filtered by pipeline name: the partitions' dead letters are this computation's only, and those of unreadable
        // stream entries (written by another client) carry no pipeline name.
        var computation = await _pipeline.DeadLetters.ListAsync(null, limit, cancellationToken).ConfigureAwait(false);
        if (computation.Count >= limit)
        {
            return computation;
        }

        var rejected = await _rejected.ListAsync(_pipeline.Name, limit - computation.Count, cancellationToken).ConfigureAwait(false);
        return [.. computation, .. rejected];
    }

    public async Task<long> CountDeadLettersAsync(CancellationToken cancellationToken)
    {
        var computation = _pipeline.DeadLetters.CountAsync(null, cancellationToken).AsTask();
        var rejected = _rejected.CountAsync(_pipeline.Name, cancellationToken).AsTask();
        return await computation.ConfigureAwait(false) + await rejected.ConfigureAwait(false);
    }

    /// <summary>
    /// Replays the computation's dead letters through the input stream, with the demo fault's mark cleared: each event is
    /// published again, then its dead letter removed (at least once, as
    /// <see cref="RedisPartitionedPipeline.ReplayDeadLettersAsync"/>, which would replay the mark too and so fail again).
    /// One replay at a time across the instances (a lock in Redis), so that two presses of Replay do not publish the
    /// same events twice. Rejected elements of POSTs are not events: they are counted as skipped and stay.
    /// </summary>
    /// <exception cref="InvalidOperationException">A replay is running on another instance.</exception>
    public async Task<ReplayResult> ReplayDeadLettersAsync(CancellationToken cancellationToken)
    {
        var holder = Guid.NewGuid().ToString("N");
        if (!await _db.LockTakeAsync(_settings.ReplayLockKey, holder, TimeSpan.FromMinutes(1)).ConfigureAwait(false))
        {
            throw new InvalidOperationException("A replay of these dead letters is running on another instance.");
        }

        try
        {
            int replayed = 0, skipped = 0;
            foreach (var entry in await _pipeline.DeadLetters.ListAsync(null, 10_000, cancellationToken).ConfigureAwait(false))
            {
                if (Replayable(entry) is not { } again)
                {
                    skipped++;
                    continue;
                }

                await _producer.PublishAsync([again], CancellationToken.None).ConfigureAwait(false);
                await _pipeline.DeadLetters.RemoveAsync(entry.Id, CancellationToken.None).ConfigureAwait(false);
                replayed++;
                cancellationToken.ThrowIfCancellationRequested();
            }

            skipped += (int)await _rejected.CountAsync(_pipeline.Name, cancellationToken).ConfigureAwait(false);
            return new ReplayResult(replayed, 0, skipped);
        }
        finally
        {
            await _db.LockReleaseAsync(_settings.ReplayLockKey, holder).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Events per second and admitted events are the computation's: each instance reads the whole input, and the stream
    /// counts every entry ever added; late events and dead letters are read from Redis (every partition's), so every
    /// instance shows the same counters.
    /// </summary>
    public async ValueTask<LiveCounters> CountersAsync(CancellationToken cancellationToken)
    {
        var stream = _stream.GetAsync();
        var deadLetters = _deadLetters.GetAsync();
        var late = _late.GetAsync();
        var fault = _faultReading.GetAsync();
        return new LiveCounters(_pipeline.GetMetrics().ThroughputPerSecond, (await stream.ConfigureAwait(false)).Added, await deadLetters.ConfigureAwait(false), await late.ConfigureAwait(false), await fault.ConfigureAwait(false));
    }

    /// <summary>Sets the switch in Redis: the other instances mark the events they admit within 250 ms.</summary>
    public async ValueTask SetFaultAsync(bool enabled, CancellationToken cancellationToken)
    {
        await _db.StringSetAsync(_settings.FaultKey, enabled ? "1" : "0").ConfigureAwait(false);
        _faultReading.Set(enabled);
        _fault.Enabled = enabled;
    }

    /// <summary>
    /// Nothing to start: being a hosted service makes the host build the pipeline at its start, whose worker then runs;
    /// one that fails (a definition that differs from the computation's stored one, say) is logged and stops the host.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The dead letter's event without the demo fault's mark, or <see langword="null"/> when it holds no event (an unreadable entry).</summary>
    private static SiteEvent? Replayable(DeadLetterEntry entry)
    {
        if (entry.Event is not string json || json.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<SiteEvent>(json, JsonSerializerOptions.Web) is { } e ? e with { GeoFault = false } : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async Task<(long Length, long Added)> ReadStreamAsync()
    {
        try
        {
            var info = await _db.StreamInfoAsync(_settings.Partitioned.Stream).ConfigureAwait(false);
            return (info.Length, info.EntriesAdded);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("no such key", StringComparison.OrdinalIgnoreCase))
        {
            return (0, 0); // nothing admitted yet
        }
    }

    /// <summary>A value read from Redis, reused for a while; a reading that started before the last <see cref="Set"/> is dropped.</summary>
    private sealed class Reading<T>(Func<Task<T>> read, TimeSpan maxAge, TimeProvider time, Action<T>? applied = null)
    {
        private readonly Lock _lock = new();
        private T _value = default!;
        private long _at = long.MinValue;

        public async ValueTask<T> GetAsync()
        {
            lock (_lock)
            {
                if (_at != long.MinValue && time.GetElapsedTime(_at) < maxAge)
                {
                    return _value;
                }
            }

            var started = time.GetTimestamp();
            var value = await read().ConfigureAwait(false);
            lock (_lock)
            {
                if (_at == long.MinValue || started > _at)
                {
                    _value = value;
                    _at = started;
                    applied?.Invoke(value);
                }

                return _value;
            }
        }

        public void Set(T value)
        {
            lock (_lock)
            {
                _value = value;
                _at = time.GetTimestamp();
                applied?.Invoke(value);
            }
        }
    }
}
