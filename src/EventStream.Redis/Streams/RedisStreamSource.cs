using EventStream.Redis.Streams;
using System.Text.Json;
using StackExchange.Redis;

namespace EventStream.Redis;

/// <summary>
/// Feeds an <see cref="IEventPipeline{T}"/> from a Redis Stream through a consumer group, at least once: entries are
/// acknowledged only at a checkpoint, once the pipeline holds nothing in flight — every event read has been delivered
/// to its sink, filtered, dead-lettered (use a durable store such as <see cref="RedisDeadLetterStore"/>) or
/// found late. A process that dies before a checkpoint leaves its entries pending; another claims them after
/// <see cref="RedisStreamSourceOptions.ClaimIdleTime"/> (sinks should be idempotent). Reading waits while the pipeline
/// is full, so the group's lag grows and <see cref="RedisStreamProducer{T}"/> pushes back on producers.
/// Unreadable entries and entries delivered <see cref="RedisStreamSourceOptions.MaxDeliveries"/> times go to the
/// dead-letter stream (<see cref="DeadLetters"/>).
/// </summary>
/// <remarks>
/// Checkpoints wait for the whole pipeline to be empty, so other producers writing into the same pipeline delay them;
/// an in-process window stage keeps its state in memory (for windows that survive restarts and are shared by processes,
/// run the pipeline partitioned: <see cref="RedisPartitionedPipeline.BuildPartitioned{TIn, TOut}"/>, or
/// <see cref="RedisPipelineOptions.Partitioned"/> in a host).
/// </remarks>
/// <typeparam name="T">The event type.</typeparam>
public sealed class RedisStreamSource<T>
{
    private readonly IDatabase _db;
    private readonly IEventPipeline<T> _pipeline;
    private readonly RedisStreamSourceOptions _options;
    private readonly JsonSerializerOptions _json;
    private readonly string _ns;
    private readonly List<RedisValue> _unacknowledged = [];
    private readonly ConsumerGroup _group;

    /// <summary>Creates a source.</summary>
    /// <param name="redis">The connection.</param>
    /// <param name="pipeline">The pipeline to feed.</param>
    /// <param name="options">The options.</param>
    /// <exception cref="ArgumentException">The options are incomplete (every problem is listed).</exception>
    public RedisStreamSource(IConnectionMultiplexer redis, IEventPipeline<T> pipeline, RedisStreamSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException("RedisStreamSourceOptions: " + string.Join("; ", problems) + ".", nameof(options));
        }

        _db = redis.GetDatabase();
        _pipeline = pipeline;
        _options = options;
        _json = options.Json ?? RedisJson.Default;
        _ns = RedisKeys.Namespace(options.KeyPrefix, options.Stream, options.Group);
        DeadLetters = new RedisDeadLetters(redis, options.Stream, _ns);
        _group = new ConsumerGroup(_db, options.Stream, options.Group, _ns, "source", options.TimeProvider);
    }

    /// <summary>Gets the dead-letter stream of unreadable and poison entries.</summary>
    public RedisDeadLetters DeadLetters { get; }

    /// <summary>Gets how many entries this source has acknowledged.</summary>
    public long Acknowledged { get; private set; }

    /// <summary>
    /// Reads until cancelled. On cancellation, reading stops, the pipeline is given until
    /// <paramref name="drainTimeout"/> to finish what was read, and that is acknowledged; the rest stays pending for others.
    /// </summary>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <param name="drainTimeout">How long to wait for the last checkpoint after cancellation.</param>
    /// <returns>A task that completes when the source stopped.</returns>
    public async Task RunAsync(CancellationToken cancellationToken, TimeSpan? drainTimeout = null)
    {
        var time = _options.TimeProvider;
        await _group.EnsureCreatedAsync().ConfigureAwait(false);

        var delay = TimeSpan.FromMilliseconds(1);
        var lastCheckpoint = time.GetTimestamp();
        var lastClaim = long.MinValue;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    StreamEntry[] entries;
                    if (lastClaim == long.MinValue || time.GetElapsedTime(lastClaim) >= _options.ClaimIdleTime / 4)
                    {
                        lastClaim = time.GetTimestamp();
                        entries = await ClaimAsync().ConfigureAwait(false);
                    }
                    else
                    {
                        entries = await _db.StreamReadGroupAsync(_options.Stream, _options.Group, _options.Consumer, ">", _options.BatchSize).ConfigureAwait(false);
                    }

                    if (entries.Length > 0)
                    {
                        await FeedAsync(entries, cancellationToken).ConfigureAwait(false);
                        delay = TimeSpan.FromMilliseconds(1);
                    }

                    if (_unacknowledged.Count > 0 && (entries.Length == 0 || time.GetElapsedTime(lastCheckpoint) >= _options.CheckpointInterval || _unacknowledged.Count >= 50_000))
                    {
                        await CheckpointAsync(cancellationToken).ConfigureAwait(false);
                        lastCheckpoint = time.GetTimestamp();
                    }

                    if (entries.Length == 0)
                    {
                        await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                        delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxPollDelay.Ticks));
                    }
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && RedisOutage.IsOutage(ex))
                {
                    // Redis is away or still loading its data after a restart: wait it out, never end the host for it.
                    await Task.Delay(_options.MaxPollDelay, time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        // Last checkpoint: what the pipeline finishes in time is acknowledged; the rest stays pending for a peer.
        if (_unacknowledged.Count > 0)
        {
            using var drain = new CancellationTokenSource(drainTimeout ?? TimeSpan.FromSeconds(10), time);
            try
            {
                await CheckpointAsync(drain.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task<StreamEntry[]> ClaimAsync()
    {
        var (_, claimableLeft) = await _group.DeadLetterPoisonAsync(_options.ClaimIdleTime, _options.BatchSize, _options.MaxDeliveries).ConfigureAwait(false);
        if (!claimableLeft)
        {
            return await _db.StreamReadGroupAsync(_options.Stream, _options.Group, _options.Consumer, ">", _options.BatchSize).ConfigureAwait(false);
        }

        var (entries, _) = await _group.ClaimAsync(_options.Consumer, _options.ClaimIdleTime, _options.BatchSize, _options.MaxDeliveries).ConfigureAwait(false);
        return entries;
    }

    private async Task FeedAsync(StreamEntry[] entries, CancellationToken cancellationToken)
    {
        var events = new List<T>(entries.Length);
        var ids = new List<RedisValue>(entries.Length);
        var traces = PipelineTracing.IsEnabled ? new List<RedisValue>(entries.Length) : null;
        List<ConsumerGroup.Failure>? bad = null;
        foreach (var entry in entries)
        {
            var json = entry["event"];
            try
            {
                if (json.IsNull)
                {
                    throw new FormatException("the entry has no 'event' field");
                }

                events.Add(JsonSerializer.Deserialize<T>(((ReadOnlyMemory<byte>)json).Span, _json) ?? throw new JsonException("the event is JSON null"));
                ids.Add(entry.Id);
                traces?.Add(entry[StreamFields.TraceParent]);
            }
            catch (Exception ex) when (ex is JsonException or FormatException or NotSupportedException)
            {
                (bad ??= []).Add(new ConsumerGroup.Failure(entry.Id.ToString(), $"{ex.GetType().Name}: {ex.Message}", 1));
            }
        }

        if (bad is not null)
        {
            await _group.DeadLetterAsync(bad).ConfigureAwait(false);
        }

        // Waits while the pipeline is full: reading stops, and the group's lag pushes back on producers. Only a batch the
        // pipeline took is acknowledged at checkpoints; one cut short by a stop stays pending (delivered again: at least once).
        if (traces is null)
        {
            await _pipeline.WriteBatchAsync(events.ToArray(), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await WriteTracedAsync(events.ToArray(), traces, cancellationToken).ConfigureAwait(false);
        }

        _unacknowledged.AddRange(ids);
    }

    /// <summary>
    /// While something traces: each run of entries published under one trace context is admitted under a receive span
    /// continuing it, so the pipeline's spans and dead letters join the publisher's trace.
    /// </summary>
    private async Task WriteTracedAsync(T[] events, List<RedisValue> traces, CancellationToken cancellationToken)
    {
        for (var start = 0; start < events.Length;)
        {
            var end = start + 1;
            while (end < events.Length && traces[end] == traces[start])
            {
                end++;
            }

            using (PipelineTracing.StartReceive(_options.Stream, PipelineTracing.Parse(traces[start]), end - start))
            {
                await _pipeline.WriteBatchAsync(events.AsMemory(start, end - start), cancellationToken).ConfigureAwait(false);
            }

            start = end;
        }
    }

    private async Task CheckpointAsync(CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        var lastRefresh = time.GetTimestamp();
        while (_pipeline.GetMetrics().InFlight > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(1), time, cancellationToken).ConfigureAwait(false);
            if (time.GetElapsedTime(lastRefresh) >= _options.ClaimIdleTime / 3)
            {
                // Still working on them: reset their idle time so that no peer claims them meanwhile.
                lastRefresh = time.GetTimestamp();
                await _db.StreamClaimIdsOnlyAsync(_options.Stream, _options.Group, _options.Consumer, 0, [.. _unacknowledged]).ConfigureAwait(false);
            }
        }

        foreach (var chunk in _unacknowledged.Chunk(1000))
        {
            Acknowledged += await _db.StreamAcknowledgeAsync(_options.Stream, _options.Group, chunk).ConfigureAwait(false);
        }

        _unacknowledged.Clear();
    }
}
