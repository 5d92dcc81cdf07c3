using EventStream.Windowing;
using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace EventStream.Benchmarks.Baseline;

/// <summary>What <see cref="LuaWindowWorker{T}"/> runs: the stream, the group and a window summing a value per string key.</summary>
/// <typeparam name="T">The event type (read from the entries' <c>event</c> field as web-convention JSON).</typeparam>
internal sealed class LuaWindowOptions<T>
{
    public required string Stream { get; init; }

    public required string Group { get; init; }

    public required string Consumer { get; init; }

    public string KeyPrefix { get; init; } = "es";

    /// <summary>Gets a tumbling or sliding assigner (<see cref="WindowAssigner.Tumbling"/>, <see cref="WindowAssigner.Sliding"/>).</summary>
    public required WindowAssigner Assigner { get; init; }

    public required Func<T, string> Key { get; init; }

    public required Func<T, long> Timestamp { get; init; }

    public required Func<T, double> Value { get; init; }

    public int BatchSize { get; init; } = 1000;

    public TimeSpan ClaimIdleTime { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan MinPollDelay { get; init; } = TimeSpan.FromMilliseconds(1);

    public TimeSpan MaxPollDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Gets how long the input must be idle, with nothing pending, before the worker completes it and returns.</summary>
    public TimeSpan? CompleteWhenIdle { get; set; }
}

/// <summary>The group's shared counters.</summary>
internal sealed record LuaWindowMetrics(long Windowed, long Late, long DeadLettered);

/// <summary>
/// The redis benchmark's baseline: a copy of the Lua window worker (<c>RedisWindowWorker</c> of EventStream.Redis, retired
/// in issue 10 in favour of partitioned execution), kept so that the benchmark compares the partitioned path with it in
/// the same run until issue 10 is done. Trimmed to the benchmark's case — sliding or tumbling windows summing a value per
/// string key, no out-of-orderness or lateness, clean input — what it does per batch is what the product did: a hold and
/// an <c>XREADGROUP</c> in one round trip, then one apply script (<see cref="LuaWindowScripts.Apply"/>) that acknowledges
/// the entries with their effect on the window state in Redis, fires the due windows into the results stream, and has
/// the next read sent right behind it; every <c>ClaimIdleTime</c>/4 a claim pass and a trim.
/// Gone: sessions and the other aggregates, dead letters (an entry it cannot read stops it: the benchmark's input is
/// clean), the delivery limit of claimed entries, outage retries, the results callback and the throughput read.
/// Not a product: nothing outside the benchmark uses it.
/// </summary>
/// <typeparam name="T">The event type.</typeparam>
internal sealed class LuaWindowWorker<T>
{
    private const int FireLimit = 1000;
    private readonly IDatabase _db;
    private readonly LuaWindowOptions<T> _options;
    private readonly SlidingAssigner _assigner;
    private readonly RedisKey _stream;
    private readonly string _ns;
    private readonly RedisValue[] _header;
    private Task<StreamEntry[]>? _readAhead; // the next batch, read right behind the last apply

    public LuaWindowWorker(IConnectionMultiplexer redis, LuaWindowOptions<T> options)
    {
        _db = redis.GetDatabase();
        _options = options;
        _assigner = options.Assigner as SlidingAssigner ?? throw new ArgumentException("The baseline copy runs tumbling and sliding windows only.", nameof(options));
        if (options.Stream.Contains('{', StringComparison.Ordinal) || options.Stream.Contains('}', StringComparison.Ordinal))
        {
            throw new ArgumentException("The baseline copy takes stream keys without braces (its keys are tagged with the whole key).", nameof(options));
        }

        _stream = options.Stream;
        _ns = options.KeyPrefix + ":{" + options.Stream + "}:" + options.Group;
        _header = [_ns, options.Group, "t", _assigner.Size, _assigner.Slide, _assigner.Pane, 0, 0, "sum", FireLimit, options.Consumer, (long)options.ClaimIdleTime.TotalMilliseconds];
    }

    /// <summary>Gets the stream every fired window result is added to (fields key, start, end, value, count, firing, number).</summary>
    public string ResultsStream => _ns + ":results";

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled (then applies the batch it read ahead and throws
    /// <see cref="OperationCanceledException"/>) or, with <see cref="LuaWindowOptions{T}.CompleteWhenIdle"/>, until the
    /// input is complete and every window has fired.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        await EnsureGroupAsync().ConfigureAwait(false);
        var delay = _options.MinPollDelay;
        var idleSince = TimeProvider.System.GetTimestamp();
        var lastClaim = long.MinValue;
        string? lastDelivered = null;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (lastClaim == long.MinValue || TimeProvider.System.GetElapsedTime(lastClaim) >= _options.ClaimIdleTime / 4)
                {
                    lastClaim = TimeProvider.System.GetTimestamp();
                    await ClaimAsync().ConfigureAwait(false);
                    await TrimAsync().ConfigureAwait(false);
                }

                var entries = await TakeReadAhead().ConfigureAwait(false);
                if (entries.Length > 0)
                {
                    await ProcessAsync(entries, readAhead: true).ConfigureAwait(false);
                    delay = _options.MinPollDelay;
                    idleSince = TimeProvider.System.GetTimestamp();
                    continue;
                }

                // Idle: other workers may have moved the watermark; fire what is due.
                await ApplyAsync([], finish: false, readAhead: false).ConfigureAwait(false);
                if (_options.CompleteWhenIdle is { } idle)
                {
                    var info = (await _db.StreamGroupInfoAsync(_stream).ConfigureAwait(false)).Single(g => g.Name == _options.Group);
                    if (info.LastDeliveredId != lastDelivered || info.PendingMessageCount > 0 || await UndeliveredAsync(info).ConfigureAwait(false))
                    {
                        lastDelivered = info.LastDeliveredId;
                        idleSince = TimeProvider.System.GetTimestamp();
                    }
                    else if (TimeProvider.System.GetElapsedTime(idleSince) >= idle && await ApplyAsync([], finish: true, readAhead: false).ConfigureAwait(false))
                    {
                        return;
                    }
                }

                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxPollDelay.Ticks));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Apply the batch read ahead, so that a stop leaves nothing pending.
            if (_readAhead is not null && await TakeReadAhead().ConfigureAwait(false) is { Length: > 0 } last)
            {
                await ProcessAsync(last, readAhead: false).ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>Reads the group's shared counters, from any connection.</summary>
    public async Task<LuaWindowMetrics> GetMetricsAsync()
    {
        var counters = await _db.HashGetAllAsync(_ns + ":metrics").ConfigureAwait(false);
        long Get(string name) => counters.FirstOrDefault(c => c.Name == name).Value is { IsNull: false } v ? (long)v : 0;
        return new LuaWindowMetrics(Get("windowed"), Get("late"), Get("deadLettered"));
    }

    private async Task EnsureGroupAsync()
    {
        try
        {
            await _db.StreamCreateConsumerGroupAsync(_stream, _options.Group, "0", createStream: true).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
        }
    }

    /// <summary>Whether the stream has entries after the group's last delivered one (Redis 7.0 reports no lag after deletions).</summary>
    private async Task<bool> UndeliveredAsync(StreamGroupInfo info) =>
        info.Lag is { } lag
            ? lag > 0
            : (await _db.StreamRangeAsync(_stream, "(" + (info.LastDeliveredId ?? "0-0"), "+", 1).ConfigureAwait(false)).Length > 0;

    /// <summary>The read sent behind the last apply, or a new one.</summary>
    private Task<StreamEntry[]> TakeReadAhead()
    {
        var next = _readAhead ?? ReadAsync();
        _readAhead = null;
        return next;
    }

    /// <summary>The hold, then a plain XREADGROUP, sent together (one round trip, in this order on the connection).</summary>
    private async Task<StreamEntry[]> ReadAsync()
    {
        var hold = _db.ScriptEvaluateAsync(LuaWindowScripts.Hold, [_stream], [_ns, _options.Consumer, 0, "0"]);
        var read = _db.StreamReadGroupAsync(_stream, _options.Group, _options.Consumer, ">", _options.BatchSize);
        await hold.ConfigureAwait(false);
        return await read.ConfigureAwait(false);
    }

    /// <summary>Trims the stream below the oldest entry any group still needs: its lowest pending entry, or the first one after its last delivered.</summary>
    private async Task TrimAsync()
    {
        (long Ms, long Seq)? keep = null;
        foreach (var group in await _db.StreamGroupInfoAsync(_stream).ConfigureAwait(false))
        {
            var pending = await _db.StreamPendingAsync(_stream, group.Name).ConfigureAwait(false);
            var needed = pending.PendingMessageCount > 0 ? ParseId(pending.LowestPendingMessageId.ToString()) : Next(ParseId(group.LastDeliveredId ?? "0-0"));
            if (keep is null || needed.CompareTo(keep.Value) < 0)
            {
                keep = needed;
            }
        }

        if (keep is { } min && min != (0, 0))
        {
            await _db.StreamTrimByMinIdAsync(_stream, string.Create(CultureInfo.InvariantCulture, $"{min.Ms}-{min.Seq}"), useApproximateMaxLength: true).ConfigureAwait(false);
        }

        static (long Ms, long Seq) ParseId(string id)
        {
            var dash = id.IndexOf('-', StringComparison.Ordinal);
            return dash < 0
                ? (long.Parse(id, CultureInfo.InvariantCulture), 0)
                : (long.Parse(id.AsSpan(0, dash), CultureInfo.InvariantCulture), long.Parse(id.AsSpan(dash + 1), CultureInfo.InvariantCulture));
        }

        static (long Ms, long Seq) Next((long Ms, long Seq) id) => id.Seq == long.MaxValue ? (id.Ms + 1, 0) : (id.Ms, id.Seq + 1);
    }

    /// <summary>Entries idle past the claim time (a dead worker's) to this worker.</summary>
    private async Task ClaimAsync()
    {
        var idleMs = (long)_options.ClaimIdleTime.TotalMilliseconds;
        var stale = await _db.StreamPendingMessagesAsync(_stream, _options.Group, _options.BatchSize, RedisValue.Null, minIdleTimeInMs: idleMs).ConfigureAwait(false);
        if (stale.Length == 0)
        {
            return;
        }

        var hold = _db.ScriptEvaluateAsync(LuaWindowScripts.Hold, [_stream], [_ns, _options.Consumer, 0, "1"]);
        var claim = _db.StreamAutoClaimAsync(_stream, _options.Group, _options.Consumer, idleMs, "0-0", _options.BatchSize);
        await hold.ConfigureAwait(false);
        var entries = (await claim.ConfigureAwait(false)).ClaimedEntries.Where(e => !e.IsNull).ToArray();
        if (entries.Length > 0)
        {
            await ProcessAsync(entries, readAhead: false).ConfigureAwait(false);
        }
    }

    /// <summary>Parses a batch and applies it; with <paramref name="readAhead"/> the next read goes right behind the apply.</summary>
    private async Task ProcessAsync(StreamEntry[] entries, bool readAhead)
    {
        var parsed = new List<Parsed>(entries.Length);
        foreach (var entry in entries)
        {
            var json = entry["event"];
            var item = json.IsNull ? default : JsonSerializer.Deserialize<T>((string)json!, JsonSerializerOptions.Web);
            if (item is null)
            {
                throw new InvalidDataException($"Entry {entry.Id} has no event: the baseline copy has no dead letters.");
            }

            parsed.Add(new Parsed(entry.Id.ToString(), _options.Key(item), _options.Timestamp(item), _options.Value(item)));
        }

        await ApplyAsync(parsed, finish: false, readAhead).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies entries, advances the watermark and fires; with <paramref name="finish"/>, completes the input. A batch goes
    /// summed per (key, slice) — the script applies that only if every entry is still pending, and otherwise (a
    /// redelivered entry) the batch goes again one entry at a time.
    /// </summary>
    /// <returns>False when <paramref name="finish"/> was refused because entries are still pending.</returns>
    private async Task<bool> ApplyAsync(List<Parsed> entries, bool finish, bool readAhead)
    {
        var grouped = entries.Count > 0;
        while (true)
        {
            var call = _db.ScriptEvaluateAsync(LuaWindowScripts.Apply, [_stream], grouped ? GroupedArgs(entries, finish) : EntryArgs(entries, finish));
            if (readAhead)
            {
                // The next hold and read go right behind the apply on the connection: one round trip per batch, not two.
                readAhead = false;
                _readAhead = ReadAsync();
            }

            var reply = (RedisResult[])(await call.ConfigureAwait(false))!;
            var more = (long)reply[3];
            if (more == -2)
            {
                grouped = false; // an entry of the batch was applied before: one by one, so that only the others count
                continue;
            }

            entries = [];
            grouped = false;
            if (more <= 0)
            {
                return more == 0;
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
            args[at++] = e.Number.ToString("R", CultureInfo.InvariantCulture);
        }

        args[at] = finish ? "finish" : "";
        return args;
    }

    private RedisValue[] GroupedArgs(List<Parsed> entries, bool finish)
    {
        var groups = new Dictionary<(string Key, long Slice), Group>();
        var order = new List<Group>();
        var maxTimestamp = long.MinValue;
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            maxTimestamp = Math.Max(maxTimestamp, e.Timestamp);
            var slice = SlidingAssigner.FloorTo(e.Timestamp, _assigner.Pane);
            if (!groups.TryGetValue((e.Key, slice), out var group))
            {
                group = new Group(e.Key, slice);
                groups.Add((e.Key, slice), group);
                order.Add(group);
            }

            group.Add(i + 1, e.Number);
        }

        var args = new List<RedisValue>(_header.Length + 6 + (entries.Count * 2) + (order.Count * 5));
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
        }

        args.Add(maxTimestamp);
        args.Add(finish ? "finish" : "");
        return [.. args];
    }

    /// <summary>An entry that was read and understood.</summary>
    private sealed record Parsed(string Id, string Key, long Timestamp, double Number);

    /// <summary>The entries of one batch in one (key, slice): their count, sum, largest value (the script's argument layout) and positions.</summary>
    private sealed class Group(string key, long slice)
    {
        public string Key { get; } = key;

        public long Slice { get; } = slice;

        public List<int> Indices { get; } = [];

        public double Sum { get; private set; }

        public double Best { get; private set; }

        public void Add(int index, double value)
        {
            Best = Indices.Count == 0 ? value : Math.Max(Best, value);
            Sum += value;
            Indices.Add(index);
        }
    }
}
