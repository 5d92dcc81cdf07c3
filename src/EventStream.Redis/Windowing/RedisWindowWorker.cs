using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using EventStream.Redis.Streams;
using EventStream.Retry;
using EventStream.Windowing;
using StackExchange.Redis;

namespace EventStream.Redis.Windowing;

/// <summary>
/// One worker of a windowed aggregation shared over Redis. Workers of one consumer group read disjoint batches of the
/// stream and keep the window state in Redis, so together they produce what one process would:
/// <list type="bullet">
/// <item>Each batch is one script: it applies only the entries still pending in the group and acknowledges them with
/// their effect — a redelivered entry never counts twice, and an entry is acknowledged exactly when its effect is
/// stored.</item>
/// <item>The watermark is shared: the largest timestamp applied less the out-of-orderness, held below the hold each
/// consumer sets before it reads (a window does not close while another worker still holds events of it).</item>
/// <item>A window fires once across the group: firing is gated on <c>ZREM</c> from the open set; its result goes to the
/// results stream (<see cref="ResultsStream"/>) in the same script and is handed to this worker's callback.</item>
/// <item>Entries left pending by a dead worker are claimed after <see cref="RedisWindowOptions{T}.ClaimIdleTime"/>; one
/// delivered <see cref="RedisWindowOptions{T}.MaxDeliveries"/> times goes to the dead-letter stream, as does an entry
/// that cannot be read (<see cref="DeadLetters"/>).</item>
/// </list>
/// Late events (every window of them past the allowed lateness) go to <see cref="LateStream"/>. Results are equal to a
/// single process's when no event is later than the out-of-orderness; judging lateness per batch against the shared
/// watermark never closes a window early.
/// </summary>
/// <typeparam name="T">The event type.</typeparam>
public sealed class RedisWindowWorker<T>
{
    private const int FireLimit = 1000;
    private readonly IDatabase _db;
    private readonly RedisWindowOptions<T> _options;
    private readonly Func<string, T> _deserialize;
    private readonly RedisKey _stream;
    private readonly string _ns;
    private readonly RedisValue[] _header;
    private readonly ConsumerGroup _group;
    private Task<StreamEntry[]>? _readAhead; // the next batch, read right behind the last apply

    /// <summary>Creates a worker. Creates the consumer group (from the start of the stream) when it does not exist yet.</summary>
    /// <param name="redis">The connection (one long-lived multiplexer per process; the configuration string carries password, TLS and timeouts).</param>
    /// <param name="options">The options; see <see cref="RedisWindowOptions{T}"/>.</param>
    /// <exception cref="ArgumentException">The options are incomplete or out of range (every problem is listed).</exception>
    public RedisWindowWorker(IConnectionMultiplexer redis, RedisWindowOptions<T> options)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _db = redis.GetDatabase();
        _options = options;
        var json = options.Json ?? RedisJson.Default;
        _deserialize = options.Deserialize ?? (text => JsonSerializer.Deserialize<T>(text, json) ?? throw new JsonException("the event is JSON null"));
        _stream = options.Stream;
        _ns = RedisKeys.Namespace(options.KeyPrefix, options.Stream, options.Group);
        var agg = options.Aggregate switch
        {
            RedisWindowAggregate.Count => "count",
            RedisWindowAggregate.Sum => "sum",
            RedisWindowAggregate.Average => "avg",
            RedisWindowAggregate.Min => "min",
            RedisWindowAggregate.Max => "max",
            _ => "distinct",
        };
        _header = options.Assigner switch
        {
            SlidingAssigner s => [_ns, options.Group, "t", s.Size, s.Slide, s.Pane, Millis(options.OutOfOrderness), Millis(options.AllowedLateness), agg, FireLimit, options.Consumer, Millis(options.ClaimIdleTime)],
            SessionAssigner s => [_ns, options.Group, "s", s.Gap, 0, 0, Millis(options.OutOfOrderness), Millis(options.AllowedLateness), agg, FireLimit, options.Consumer, Millis(options.ClaimIdleTime)],
            _ => throw new ArgumentException($"RedisWindowOptions: unsupported assigner {options.Assigner}.", nameof(options)),
        };
        DeadLetters = new RedisDeadLetters(redis, options.Stream, _ns);
        _group = new ConsumerGroup(_db, options.Stream, options.Group, _ns, "window", options.TimeProvider);
    }

    /// <summary>Gets this worker's consumer name.</summary>
    public string Consumer => _options.Consumer;

    /// <summary>Gets the stream every fired window result is added to (fields key, start, end, value, count, firing, number).</summary>
    public string ResultsStream => _ns + ":results";

    /// <summary>Gets the stream late events are copied to (fields id, event).</summary>
    public string LateStream => _ns + ":late";

    /// <summary>Gets the dead-letter stream of this stream and group: list, count and replay from any process.</summary>
    public RedisDeadLetters DeadLetters { get; }

    /// <summary>
    /// Runs the worker until <paramref name="cancellationToken"/> is cancelled or, with
    /// <see cref="RedisWindowOptions{T}.CompleteWhenIdle"/>, the input is complete and every window has fired. Lost
    /// connections are retried with back-off (StackExchange.Redis reconnects); nothing read is lost meanwhile: what was
    /// not applied stays pending and is claimed again.
    /// </summary>
    /// <param name="onResults">Called with the results this worker fired, after they were stored in <see cref="ResultsStream"/>.</param>
    /// <param name="cancellationToken">Stops the worker; a batch it has already read is applied first, so a stop leaves nothing pending.</param>
    /// <returns>What this worker did.</returns>
    public async Task<RedisWindowWorkerSummary> RunAsync(Func<IReadOnlyList<WindowResult<string, double>>, CancellationToken, ValueTask>? onResults = null, CancellationToken cancellationToken = default)
    {
        var summary = new Counts();
        await _group.EnsureCreatedAsync().ConfigureAwait(false);
        var time = _options.TimeProvider;
        var delay = _options.MinPollDelay;
        var idleSince = time.GetTimestamp();
        var lastClaim = long.MinValue;
        string? lastDelivered = null;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    if (lastClaim == long.MinValue || time.GetElapsedTime(lastClaim) >= _options.ClaimIdleTime / 4)
                    {
                        lastClaim = time.GetTimestamp();
                        await ClaimAsync(summary, onResults, cancellationToken).ConfigureAwait(false);
                        if (_options.TrimAcknowledged)
                        {
                            await TrimAsync(_db, _stream).ConfigureAwait(false);
                        }
                    }

                    var entries = await TakeReadAhead().ConfigureAwait(false);
                    if (entries.Length > 0)
                    {
                        await ProcessAsync(entries, summary, onResults, readAhead: true, cancellationToken).ConfigureAwait(false);
                        delay = _options.MinPollDelay;
                        idleSince = time.GetTimestamp();
                        continue;
                    }

                    // Idle: other workers may have moved the watermark; fire what is due.
                    await ApplyAsync([], summary, onResults, finish: false, readAhead: false, cancellationToken).ConfigureAwait(false);
                    if (_options.CompleteWhenIdle is { } idle)
                    {
                        var info = await GroupInfoAsync().ConfigureAwait(false);
                        var delivered = info.LastDeliveredId;
                        if (delivered != lastDelivered || info.PendingMessageCount > 0 || await UndeliveredAsync(info).ConfigureAwait(false))
                        {
                            lastDelivered = delivered;
                            idleSince = time.GetTimestamp();
                        }
                        else if (time.GetElapsedTime(idleSince) >= idle
                            && await ApplyAsync([], summary, onResults, finish: true, readAhead: false, cancellationToken).ConfigureAwait(false))
                        {
                            return summary.ToSummary(Consumer);
                        }
                    }

                    await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxPollDelay.Ticks));
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && IsConnectionProblem(ex))
                {
                    // Redis restarting or unreachable: back off and try again; pending entries wait for us or a peer.
                    ForgetReadAhead();
                    summary.Reconnects++;
                    await Task.Delay(_options.MaxPollDelay, time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (CallbackFailure failure)
        {
            // The results are in the results stream; the caller's callback failed on them: stop and say so. The batch
            // read ahead is applied without the callback, so that it does not wait ClaimIdleTime for a peer.
            await DrainReadAheadAsync(summary, onResults: null).ConfigureAwait(false);
            ExceptionDispatchInfo.Capture(failure.InnerException!).Throw();
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Apply the batch read ahead, so that a stop leaves nothing pending for ClaimIdleTime.
            await DrainReadAheadAsync(summary, onResults).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Reads the group's shared counters and the stream's state, from any process.</summary>
    /// <returns>The metrics.</returns>
    public async Task<RedisWindowMetrics> GetMetricsAsync()
    {
        var counters = await _db.HashGetAllAsync(_ns + ":metrics").ConfigureAwait(false);
        long Get(string name) => counters.FirstOrDefault(c => c.Name == name).Value is { IsNull: false } v ? (long)v : 0;
        var exists = await _db.KeyExistsAsync(_stream).ConfigureAwait(false);
        var info = exists ? await FindGroupAsync().ConfigureAwait(false) : null;
        var (added, length) = exists ? await StreamCountsAsync().ConfigureAwait(false) : (0, 0);
        var meta = await _db.HashGetAsync(_ns + ":meta", ["wm", "complete"]).ConfigureAwait(false);
        var applied = (long)await _db.ScriptEvaluateAsync(RedisWindowScripts.Throughput, [_stream], [_ns]).ConfigureAwait(false);
        var deadLetters = await DeadLetters.CountAsync().ConfigureAwait(false);
        return new RedisWindowMetrics
        {
            EntriesAdded = added,
            Windowed = Get("windowed"),
            Late = Get("late"),
            DeadLettered = Get("deadLettered"),
            Replayed = Get("replayed"),
            Results = Get("results"),
            DeadLetterCount = deadLetters,
            Pending = info?.PendingMessageCount ?? 0,
            Lag = info is { } group ? group.Lag ?? Math.Max(0, length - (group.EntriesRead ?? 0)) : length,
            Throughput = applied / 10.0,
            Watermark = meta[1].IsNull ? (meta[0].IsNull ? null : (long)meta[0]) : long.MaxValue,
        };
    }

    /// <summary>XINFO STREAM: entries-added (never decreases) and length. The key argument routes it on a cluster.</summary>
    private async Task<(long Added, long Length)> StreamCountsAsync()
    {
        var reply = (RedisResult[])(await _db.ExecuteAsync("XINFO", [(object)"STREAM", _stream]).ConfigureAwait(false))!;
        long added = 0, length = 0;
        for (var i = 0; i + 1 < reply.Length; i += 2)
        {
            switch ((string?)reply[i])
            {
                case "entries-added": added = (long)reply[i + 1]; break;
                case "length": length = (long)reply[i + 1]; break;
            }
        }

        return (added, length);
    }

    private static long Millis(TimeSpan value) => (long)value.TotalMilliseconds;

    private static bool IsConnectionProblem(Exception ex) =>
        RedisOutage.IsOutage(ex) || (ex is RedisServerException server && server.Message.StartsWith("NOGROUP", StringComparison.Ordinal));

    /// <summary>Whether the stream has entries after the group's last delivered one (Redis 7.0 reports no lag after deletions).</summary>
    private async Task<bool> UndeliveredAsync(StreamGroupInfo info) =>
        info.Lag is { } lag
            ? lag > 0
            : (await _db.StreamRangeAsync(_stream, "(" + (info.LastDeliveredId ?? "0-0"), "+", 1).ConfigureAwait(false)).Length > 0;

    private async Task<StreamGroupInfo> GroupInfoAsync() =>
        await FindGroupAsync().ConfigureAwait(false) ?? throw new InvalidOperationException($"Stream '{_options.Stream}' has no consumer group '{_options.Group}'.");

    private async Task<StreamGroupInfo?> FindGroupAsync()
    {
        foreach (var group in await _db.StreamGroupInfoAsync(_stream).ConfigureAwait(false))
        {
            if (group.Name == _options.Group)
            {
                return group;
            }
        }

        return null;
    }

    /// <summary>The read sent behind the last apply, or a new one.</summary>
    private Task<StreamEntry[]> TakeReadAhead()
    {
        var next = _readAhead ?? ReadAsync();
        _readAhead = null;
        return next;
    }

    private void ForgetReadAhead()
    {
        _ = _readAhead?.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        _readAhead = null; // what it read stays pending and is claimed after ClaimIdleTime
    }

    private async Task DrainReadAheadAsync(Counts summary, Func<IReadOnlyList<WindowResult<string, double>>, CancellationToken, ValueTask>? onResults)
    {
        if (_readAhead is null)
        {
            return;
        }

        try
        {
            var entries = await TakeReadAhead().ConfigureAwait(false);
            if (entries.Length > 0)
            {
                await ProcessAsync(entries, summary, onResults, readAhead: false, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsConnectionProblem(ex))
        {
            // Left pending: claimed after ClaimIdleTime.
        }
        catch (CallbackFailure failure)
        {
            ExceptionDispatchInfo.Capture(failure.InnerException!).Throw();
        }
    }

    /// <summary>The hold, then a plain XREADGROUP, sent together (one round trip, in this order on the connection).</summary>
    private async Task<StreamEntry[]> ReadAsync()
    {
        var hold = _db.ScriptEvaluateAsync(RedisWindowScripts.Hold, [_stream], [_ns, _options.Consumer, Millis(_options.OutOfOrderness), "0"]);
        var read = _db.StreamReadGroupAsync(_stream, _options.Group, _options.Consumer, ">", _options.BatchSize);
        try
        {
            await hold.ConfigureAwait(false);
            return await read.ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("NOGROUP", StringComparison.Ordinal))
        {
            await _group.EnsureCreatedAsync().ConfigureAwait(false); // the stream was deleted and made again
            return [];
        }
        finally
        {
            _ = read.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // observed when the hold failed first
        }
    }

    /// <summary>
    /// Trims the stream below the oldest entry any group still needs: its lowest pending entry, or the first one after
    /// its last delivered. Group states only move forward, so a reading that is a moment old is still safe.
    /// </summary>
    /// <returns>The entries removed.</returns>
    internal static async Task<long> TrimAsync(IDatabase db, RedisKey stream)
    {
        (long Ms, long Seq)? keep = null;
        foreach (var group in await db.StreamGroupInfoAsync(stream).ConfigureAwait(false))
        {
            var pending = await db.StreamPendingAsync(stream, group.Name).ConfigureAwait(false);
            var needed = pending.PendingMessageCount > 0 ? ParseId(pending.LowestPendingMessageId.ToString()) : Next(ParseId(group.LastDeliveredId ?? "0-0"));
            if (keep is null || needed.CompareTo(keep.Value) < 0)
            {
                keep = needed;
            }
        }

        if (keep is not { } min || min == (0, 0))
        {
            return 0;
        }

        return await db.StreamTrimByMinIdAsync(stream, string.Create(CultureInfo.InvariantCulture, $"{min.Ms}-{min.Seq}"), useApproximateMaxLength: true).ConfigureAwait(false);

        static (long Ms, long Seq) ParseId(string id)
        {
            var dash = id.IndexOf('-', StringComparison.Ordinal);
            return dash < 0
                ? (long.Parse(id, CultureInfo.InvariantCulture), 0)
                : (long.Parse(id.AsSpan(0, dash), CultureInfo.InvariantCulture), long.Parse(id.AsSpan(dash + 1), CultureInfo.InvariantCulture));
        }

        static (long Ms, long Seq) Next((long Ms, long Seq) id) => id.Seq == long.MaxValue ? (id.Ms + 1, 0) : (id.Ms, id.Seq + 1);
    }

    /// <summary>Poison entries to the dead-letter stream; entries idle past the claim time to this worker.</summary>
    private async Task ClaimAsync(Counts summary, Func<IReadOnlyList<WindowResult<string, double>>, CancellationToken, ValueTask>? onResults, CancellationToken cancellationToken)
    {
        var (deadLettered, claimableLeft) = await _group.DeadLetterPoisonAsync(_options.ClaimIdleTime, _options.BatchSize, _options.MaxDeliveries).ConfigureAwait(false);
        summary.DeadLettered += deadLettered;
        if (!claimableLeft)
        {
            return;
        }

        var hold = _db.ScriptEvaluateAsync(RedisWindowScripts.Hold, [_stream], [_ns, _options.Consumer, Millis(_options.OutOfOrderness), "1"]);
        var claim = _group.ClaimAsync(_options.Consumer, _options.ClaimIdleTime, _options.BatchSize, _options.MaxDeliveries);
        await hold.ConfigureAwait(false);
        var (entries, overDelivered) = await claim.ConfigureAwait(false);
        summary.DeadLettered += overDelivered;
        if (entries.Length > 0)
        {
            summary.Claimed += entries.Length;
            await ProcessAsync(entries, summary, onResults, readAhead: false, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Parses a batch, dead-letters what cannot be read and applies the rest; with <paramref name="readAhead"/> the next read goes right behind the apply.</summary>
    private async Task ProcessAsync(StreamEntry[] entries, Counts summary, Func<IReadOnlyList<WindowResult<string, double>>, CancellationToken, ValueTask>? onResults, bool readAhead, CancellationToken cancellationToken)
    {
        var applied = new List<Parsed>(entries.Length);
        List<ConsumerGroup.Failure>? dead = null;
        foreach (var entry in entries)
        {
            var id = entry.Id.ToString();
            try
            {
                applied.Add(Extract(entry, id));
            }
            catch (Exception ex) when (!RetryOptions.IsTransient(ex))
            {
                (dead ??= []).Add(new ConsumerGroup.Failure(id, $"{ex.GetType().Name}: {ex.Message}", 1));
            }
            catch (Exception)
            {
                // Transient: leave it pending; it is delivered again after ClaimIdleTime, and dead-lettered after MaxDeliveries.
                summary.Failed++;
            }
        }

        if (dead is not null)
        {
            summary.DeadLettered += await _group.DeadLetterAsync(dead).ConfigureAwait(false);
        }

        await ApplyAsync(applied, summary, onResults, finish: false, readAhead, cancellationToken).ConfigureAwait(false);
    }

    private Parsed Extract(StreamEntry entry, string id)
    {
        var json = entry["event"];
        if (json.IsNull)
        {
            throw new FormatException("the entry has no 'event' field");
        }

        var item = _deserialize(json!);
        var key = _options.Key!(item) ?? throw new FormatException("the key is null");
        var timestamp = _options.Timestamp!(item);
        if (timestamp is > RedisWindowOptions<T>.MaxTimestamp or < -RedisWindowOptions<T>.MaxTimestamp)
        {
            throw new ArgumentOutOfRangeException(nameof(entry), timestamp, $"the timestamp is outside ±2^52 ms");
        }

        var number = 0.0;
        string? distinct = null;
        if (_options.Value is { } selector && _options.Aggregate != RedisWindowAggregate.Count && _options.Aggregate != RedisWindowAggregate.DistinctCount)
        {
            number = selector(item);
            if (!double.IsFinite(number))
            {
                throw new ArgumentOutOfRangeException(nameof(entry), number, "the value is not a finite number");
            }
        }
        else if (_options.Aggregate == RedisWindowAggregate.DistinctCount)
        {
            distinct = _options.DistinctValue!(item) ?? throw new FormatException("the distinct value is null");
        }

        return new Parsed(id, key, timestamp, number, distinct);
    }

    /// <summary>
    /// Applies entries, advances the watermark and fires; with <paramref name="finish"/>, completes the input. Sliding and
    /// tumbling batches go summed per (key, slice) — the script applies that only if every entry is still pending, and
    /// otherwise (a redelivered entry) the batch goes again one entry at a time.
    /// </summary>
    /// <returns>False when <paramref name="finish"/> was refused because entries are still pending.</returns>
    private async Task<bool> ApplyAsync(List<Parsed> entries, Counts summary, Func<IReadOnlyList<WindowResult<string, double>>, CancellationToken, ValueTask>? onResults, bool finish, bool readAhead, CancellationToken cancellationToken)
    {
        var pendingEntries = entries;
        var grouped = _options.Assigner is SlidingAssigner && entries.Count > 0;
        while (true)
        {
            var args = grouped ? GroupedArgs(pendingEntries, finish) : EntryArgs(pendingEntries, finish);
            var call = _db.ScriptEvaluateAsync(RedisWindowScripts.Apply, [_stream], args);
            if (readAhead)
            {
                // The next hold and read go right behind the apply on the connection: Redis runs them after it, exactly
                // as if sent after its reply, and the batch costs one round trip instead of two.
                readAhead = false;
                _readAhead = ReadAsync();
            }

            var reply = (RedisResult[])(await call.ConfigureAwait(false))!;
            if ((long)reply[3] == -2)
            {
                grouped = false; // an entry of the batch was applied before: one by one, so that only the others count
                continue;
            }

            pendingEntries = [];
            grouped = false;
            summary.Windowed += (long)reply[0];
            summary.Late += (long)reply[1];
            summary.Duplicates += (long)reply[2];
            var more = (long)reply[3];
            if (more < 0)
            {
                return false;
            }

            if (reply.Length > 5)
            {
                var results = new List<WindowResult<string, double>>((reply.Length - 5) / 7);
                for (var i = 5; i + 6 < reply.Length; i += 7)
                {
                    results.Add(new WindowResult<string, double>(
                        (string)reply[i]!,
                        long.Parse((string)reply[i + 1]!, CultureInfo.InvariantCulture),
                        long.Parse((string)reply[i + 2]!, CultureInfo.InvariantCulture),
                        double.Parse((string)reply[i + 3]!, CultureInfo.InvariantCulture),
                        long.Parse((string)reply[i + 4]!, CultureInfo.InvariantCulture),
                        (string)reply[i + 5]! == "2" ? WindowFiring.Late : WindowFiring.OnTime,
                        int.Parse((string)reply[i + 6]!, CultureInfo.InvariantCulture)));
                }

                summary.Results += results.Count;
                if (onResults is not null)
                {
                    try
                    {
                        await onResults(results, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
                    {
                        throw new CallbackFailure(ex); // not a Redis problem: never retried as one
                    }
                }
            }

            if (more == 0)
            {
                return true;
            }
        }
    }

    private RedisValue[] EntryArgs(List<Parsed> entries, bool finish)
    {
        var args = new RedisValue[_header.Length + 2 + (entries.Count * 4) + 1];
        _header.CopyTo(args, 0);
        var at = _header.Length;
        args[at++] = entries.Count;
        args[at++] = "e";
        foreach (var e in entries)
        {
            args[at++] = e.Id;
            args[at++] = e.Key;
            args[at++] = e.Timestamp;
            args[at++] = ValueText(e);
        }

        args[at] = finish ? "finish" : "";
        return args;
    }

    private RedisValue[] GroupedArgs(List<Parsed> entries, bool finish)
    {
        var sliding = (SlidingAssigner)_options.Assigner!;
        var groups = new Dictionary<(string Key, long Slice), Group>();
        var order = new List<Group>();
        var maxTimestamp = long.MinValue;
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            maxTimestamp = Math.Max(maxTimestamp, e.Timestamp);
            var slice = SlidingAssigner.FloorTo(e.Timestamp, sliding.Pane);
            if (!groups.TryGetValue((e.Key, slice), out var group))
            {
                group = new Group(e.Key, slice);
                groups.Add((e.Key, slice), group);
                order.Add(group);
            }

            group.Add(i + 1, e, _options.Aggregate);
        }

        var distinct = _options.Aggregate == RedisWindowAggregate.DistinctCount;
        var args = new List<RedisValue>(_header.Length + 6 + (entries.Count * (distinct ? 3 : 2)) + (order.Count * 5));
        args.AddRange(_header);
        args.Add(entries.Count);
        args.Add("g");
        foreach (var e in entries)
        {
            args.Add(e.Id);
        }

        args.Add(order.Count);
        foreach (var g in order)
        {
            args.Add(g.Key);
            args.Add(g.Slice);
            args.Add(g.Indices.Count);
            args.Add(g.Sum.ToString("R", CultureInfo.InvariantCulture));
            args.Add(g.Best.ToString("R", CultureInfo.InvariantCulture));
            foreach (var index in g.Indices)
            {
                args.Add(index);
            }

            if (distinct)
            {
                foreach (var index in g.Indices)
                {
                    args.Add(entries[index - 1].Distinct);
                }
            }
        }

        args.Add(maxTimestamp);
        args.Add(finish ? "finish" : "");
        return [.. args];
    }

    private static RedisValue ValueText(Parsed e) => e.Distinct is { } d ? d : e.Number.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>An entry that was read and understood.</summary>
    private sealed record Parsed(string Id, string Key, long Timestamp, double Number, string? Distinct);

    /// <summary>The entries of one batch in one (key, slice): their count, sum, min or max, and positions.</summary>
    private sealed class Group(string key, long slice)
    {
        public string Key { get; } = key;

        public long Slice { get; } = slice;

        public List<int> Indices { get; } = [];

        public double Sum { get; private set; }

        public double Best { get; private set; }

        public void Add(int index, Parsed e, RedisWindowAggregate aggregate)
        {
            Best = Indices.Count == 0 ? e.Number : aggregate == RedisWindowAggregate.Min ? Math.Min(Best, e.Number) : Math.Max(Best, e.Number);
            Sum += e.Number;
            Indices.Add(index);
        }
    }

    private sealed class Counts
    {
        public long Windowed;
        public long Late;
        public long DeadLettered;
        public long Duplicates;
        public long Results;
        public long Claimed;
        public long Failed;
        public long Reconnects;

        public RedisWindowWorkerSummary ToSummary(string consumer) => new(consumer, Windowed, Late, DeadLettered, Duplicates, Results, Claimed, Failed, Reconnects);
    }

    /// <summary>The caller's results callback threw: carried out of the retry loop untouched.</summary>
    private sealed class CallbackFailure(Exception inner) : Exception(inner.Message, inner);
}
