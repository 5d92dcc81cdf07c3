using EventStream.Redis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using StackExchange.Redis;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// The dashboard with <c>--redis</c>: every instance writes the events it admits into one input stream, and the
/// pipeline runs partitioned over it (<see cref="PartitionedOptions"/>: each instance owns some partitions, commits
/// their windows, and the live figures of every instance come from the committed results of all partitions, see
/// <see cref="CommittedFigures"/>). The partitioned pipeline reads its input from the stream and refuses the producer
/// doors, so this class is what the HTTP API reaches under <see cref="DashboardPipeline.ApiKey"/>: an
/// <see cref="IEventPipeline{T}"/> whose <see cref="Ingest"/> publishes into the stream (or refuses with
/// <see cref="BackpressureException"/>), whose dead letters are the computation's (every partition's, listed from any
/// instance) followed by the bad elements of POSTs (which only the receiving instance sees, kept in a
/// <see cref="RedisDeadLetterStore"/> of their own), and whose replay clears the demo fault's mark. The demo fault is
/// one switch in Redis for all instances.
/// </summary>
/// <remarks>
/// With Redis away, every call fails at once (the connection's backlog policy is fail-fast, see
/// <see cref="DashboardApp"/>) with a <see cref="RedisException"/>, which <see cref="RedisOutageHandler"/> answers
/// with 503 and <c>Retry-After</c>.
/// </remarks>
public sealed partial class RedisBackend : IEventPipeline<PipelineEvent>, IDashboardBackend, IHostedService
{
    private static readonly TimeSpan ReadingsMaxAge = TimeSpan.FromMilliseconds(250);
    private readonly IDatabase _db;
    private readonly DashboardRedis _settings;
    private readonly IEventPipeline<PipelineEvent> _pipeline;
    private readonly FaultSwitch _fault;
    private readonly RedisStreamProducer<PipelineEvent> _producer;
    private readonly Reading<(long Length, long Added)> _stream;
    private readonly Reading<bool> _faultReading;
    private readonly Reading<long> _deadLetters;
    private readonly Reading<long> _late;
    private long _admittedSinceReading;

    /// <summary>Creates the backend over the partitioned pipeline this instance runs.</summary>
    public RedisBackend(IConnectionMultiplexer redis, DashboardRedis settings, IEventPipeline<PipelineEvent> pipeline, FaultSwitch fault, TimeProvider time)
    {
        _db = redis.GetDatabase();
        _settings = settings;
        _pipeline = pipeline;
        _fault = fault;

        // No consumer group, so no group lag to watch: the backlog is checked here, before publishing (Ingest).
        _producer = new RedisStreamProducer<PipelineEvent>(redis, new RedisStreamOptions { Stream = settings.Partitioned.Stream, TimeProvider = time });
        DeadLetters = new Letters(pipeline.DeadLetters, new RedisDeadLetterStore(redis, new RedisDeadLetterStoreOptions { KeyPrefix = settings.RejectedPrefix }));
        _stream = new Reading<(long, long)>(ReadStreamAsync, ReadingsMaxAge, time, _ => Interlocked.Exchange(ref _admittedSinceReading, 0));
        _faultReading = new Reading<bool>(async () => await _db.StringGetAsync(settings.FaultKey).ConfigureAwait(false) == "1", ReadingsMaxAge, time, on => fault.Enabled = on);
        _deadLetters = new Reading<long>(() => DeadLetters.CountAsync(null).AsTask(), ReadingsMaxAge, time);
        _late = new Reading<long>(async () => (await RedisPartitionedPipeline.ReadMetricsAsync(redis, settings.Partitioned).ConfigureAwait(false)).Late, TimeSpan.FromSeconds(1), time);
    }

    /// <inheritdoc />
    public string Name => _pipeline.Name;

    /// <summary>Gets the computation's dead letters, then the bad elements of POSTs (where the door records them).</summary>
    public IDeadLetterStore DeadLetters { get; }

    /// <summary>Gets the partitioned worker's run.</summary>
    public Task Completion => _pipeline.Completion;

    /// <summary>
    /// Publishes the batch into the input stream, one entry per event (marked with <see cref="DashboardPipeline.FaultMark"/>
    /// while the demo fault is on), or refuses it whole.
    /// </summary>
    /// <remarks>
    /// The door admits through <see cref="IngestAsync(ReadOnlyMemory{PipelineEvent}, CancellationToken)"/>, which awaits
    /// the publish (one round trip per batch) without holding the request's thread; this synchronous form blocks on it.
    /// Backpressure: there is no consumer group on the partitioned path, so no group lag. The computation trims its input
    /// below the oldest position any of its partitions has committed (every few seconds), so the stream's length is the
    /// backlog: entries some partition has not committed yet, plus what arrived since the last trim. A batch is refused
    /// with 429 once that length (read at most every 250 ms, plus what this instance published since) and the batch pass
    /// <c>--capacity</c>. Retry-After is the excess over the rate this instance reads the stream at.
    /// </remarks>
    /// <exception cref="BackpressureException">The backlog would pass the capacity.</exception>
    /// <exception cref="RedisException">Redis is away.</exception>
    public void Ingest(ReadOnlySpan<PipelineEvent> items)
    {
        var events = items.ToArray();
        PublishAsync(events).GetAwaiter().GetResult();
    }

    /// <inheritdoc cref="Ingest"/>
    public async ValueTask IngestAsync(ReadOnlyMemory<PipelineEvent> items, CancellationToken cancellationToken = default) =>
        await PublishAsync(items.ToArray()).ConfigureAwait(false);

    /// <inheritdoc cref="Ingest"/>
    public bool TryWrite(PipelineEvent item)
    {
        Ingest([item]);
        return true;
    }

    /// <inheritdoc cref="Ingest"/>
    public async ValueTask WriteAsync(PipelineEvent item, CancellationToken cancellationToken = default) => await PublishAsync([item]).ConfigureAwait(false);

    /// <inheritdoc cref="Ingest"/>
    public async ValueTask WriteBatchAsync(ReadOnlyMemory<PipelineEvent> items, CancellationToken cancellationToken = default) => await PublishAsync(items.ToArray()).ConfigureAwait(false);

    /// <summary>Nothing to complete: the partitioned pipeline is the host's, and stops with it.</summary>
    public void Complete()
    {
    }

    /// <summary>Nothing to complete: the partitioned pipeline is the host's, and stops with it.</summary>
    public Task CompleteAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>This worker's metrics (the computation's are read from Redis, see <see cref="CountersAsync"/>).</summary>
    public PipelineMetrics GetMetrics() => _pipeline.GetMetrics();

    /// <summary>
    /// Nothing to start: being a hosted service makes the host build the pipeline at its start, whose worker then runs;
    /// one that fails (a definition that differs from the computation's stored one, say) is logged and stops the host.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Nothing to stop: the partitioned pipeline stops with the host.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Nothing to dispose: the partitioned pipeline is the host's.</summary>
    public ValueTask DisposeAsync() => default;

    /// <summary>
    /// Replays the computation's dead letters through the input stream, with the demo fault's mark cleared: each event is
    /// published again, then its dead letter removed (at least once, as
    /// <see cref="RedisPartitionedPipeline.ReplayDeadLettersAsync"/>, which would replay the mark too and so fail again).
    /// One replay at a time across the instances (a lock in Redis), so that two presses of Replay do not publish the
    /// same events twice. Rejected elements of POSTs are not events: they are counted as skipped and stay (discard them).
    /// </summary>
    /// <exception cref="InvalidOperationException">A replay is running on another instance.</exception>
    public async Task<ReplayResult> ReplayDeadLettersAsync(int maxCount = int.MaxValue, CancellationToken cancellationToken = default)
    {
        var holder = Guid.NewGuid().ToString("N");
        if (!await _db.LockTakeAsync(_settings.ReplayLockKey, holder, TimeSpan.FromMinutes(1)).ConfigureAwait(false))
        {
            throw new InvalidOperationException("A replay of these dead letters is running on another instance.");
        }

        try
        {
            int replayed = 0, skipped = 0;
            var letters = (Letters)DeadLetters;
            foreach (var entry in await letters.Computation.ListAsync(null, Math.Min(maxCount, 10_000), cancellationToken).ConfigureAwait(false))
            {
                if (Replayable(entry) is not { } again)
                {
                    skipped++;
                    continue;
                }

                await _producer.PublishAsync([again], CancellationToken.None).ConfigureAwait(false);
                await letters.Computation.RemoveAsync(entry.Id, CancellationToken.None).ConfigureAwait(false);
                replayed++;
                cancellationToken.ThrowIfCancellationRequested();
            }

            skipped += (int)await letters.Rejected.CountAsync(_pipeline.Name, cancellationToken).ConfigureAwait(false);
            return new ReplayResult(replayed, 0, skipped);
        }
        finally
        {
            await _db.LockReleaseAsync(_settings.ReplayLockKey, holder).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Discards matching dead letters, of the computation and bad elements alike (from the store, by listing). Not
    /// counted in the worker's metrics: the computation's counters are its partitions', committed with their state.
    /// </summary>
    public Task<long> DiscardDeadLettersAsync(DeadLetterDiscard filter, CancellationToken cancellationToken = default) =>
        DeadLetters.DiscardAsync(null, filter, cancellationToken).AsTask();

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

    /// <summary>The dead letter's event without the demo fault's mark, or <see langword="null"/> when it holds no event (an unreadable entry).</summary>
    private static PipelineEvent? Replayable(DeadLetterEntry entry)
    {
        try
        {
            var e = entry.Event switch
            {
                PipelineEvent envelope => envelope,
                string { Length: > 0 } json => JsonSerializer.Deserialize<PipelineEvent>(json, JsonSerializerOptions.Web),
                JsonElement json => json.Deserialize<PipelineEvent>(JsonSerializerOptions.Web),
                _ => null,
            };
            return e is null ? null : Unmarked(e);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static PipelineEvent Marked(PipelineEvent e)
    {
        var data = e.Data.ValueKind == JsonValueKind.Object ? JsonObject.Create(e.Data)! : [];
        data[DashboardPipeline.FaultMark] = true;
        return e with { Data = JsonSerializer.SerializeToElement(data) };
    }

    private static PipelineEvent Unmarked(PipelineEvent e)
    {
        if (!DashboardPipeline.IsMarked(e))
        {
            return e;
        }

        var data = JsonObject.Create(e.Data)!;
        data.Remove(DashboardPipeline.FaultMark);
        return e with { Data = JsonSerializer.SerializeToElement(data) };
    }

    private async Task PublishAsync(PipelineEvent[] events)
    {
        var (length, _) = await _stream.GetAsync().ConfigureAwait(false);
        var backlog = length + Interlocked.Read(ref _admittedSinceReading);
        if (backlog + events.Length > _settings.Capacity)
        {
            var rate = _pipeline.GetMetrics().ThroughputPerSecond;
            var excess = backlog + events.Length - _settings.Capacity;
            var retryAfter = rate > 0 ? TimeSpan.FromSeconds(Math.Clamp(excess / rate, 1, 60)) : TimeSpan.FromSeconds(1);
            throw new BackpressureException(
                string.Create(CultureInfo.InvariantCulture, $"Stream '{_settings.Partitioned.Stream}' holds {backlog} entries not yet committed by every partition; {events.Length} more would pass the backpressure threshold of {_settings.Capacity}."),
                retryAfter,
                backlog,
                events.Length);
        }

        var marked = await _faultReading.GetAsync().ConfigureAwait(false) ? [.. events.Select(Marked)] : events;
        await _producer.PublishAsync(marked, CancellationToken.None).ConfigureAwait(false);
        Interlocked.Add(ref _admittedSinceReading, events.Length);
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

    /// <summary>
    /// The computation's dead letters (every partition's, whoever owns it; not filtered by pipeline name: those of
    /// unreadable stream entries, written by another client, carry none), then the bad elements of POSTs, which the door
    /// adds here.
    /// </summary>
    private sealed class Letters(IDeadLetterStore computation, RedisDeadLetterStore rejected) : IDeadLetterStore
    {
        public IDeadLetterStore Computation => computation;

        public RedisDeadLetterStore Rejected => rejected;

        public bool IsFull => false;

        public ValueTask AddAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default) => rejected.AddAsync(entry, cancellationToken);

        public ValueTask ReplaceAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default) => rejected.ReplaceAsync(entry, cancellationToken);

        public async ValueTask<IReadOnlyList<DeadLetterEntry>> ListAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default)
        {
            var first = await computation.ListAsync(null, limit, cancellationToken).ConfigureAwait(false);
            if (first.Count >= limit)
            {
                return first;
            }

            var more = await rejected.ListAsync(pipeline, limit - first.Count, cancellationToken).ConfigureAwait(false);
            return [.. first, .. more];
        }

        public async ValueTask<long> CountAsync(string? pipeline = null, CancellationToken cancellationToken = default)
        {
            var first = computation.CountAsync(null, cancellationToken).AsTask();
            var more = rejected.CountAsync(pipeline, cancellationToken).AsTask();
            return await first.ConfigureAwait(false) + await more.ConfigureAwait(false);
        }

        public async ValueTask<bool> RemoveAsync(string id, CancellationToken cancellationToken = default) =>
            await rejected.RemoveAsync(id, cancellationToken).ConfigureAwait(false) || await computation.RemoveAsync(id, cancellationToken).ConfigureAwait(false);
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
