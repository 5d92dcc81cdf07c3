using EventStream.Windowing.State;
using StackExchange.Redis;

namespace EventStream.Redis.Partitions;

/// <summary>
/// Everything one commit of a partition writes, gathered by its owner between commits: the state delta (the engine
/// exports into it), the results, late events and dead letters, and the cursor it ends at.
/// </summary>
internal sealed class PartitionCommit : IWindowStateWriter
{
    private readonly List<RedisValue> _set = [];
    private readonly List<RedisValue> _removed = [];
    private readonly List<RedisValue> _results = [];
    private readonly List<RedisValue> _late = [];
    private readonly List<RedisValue> _dead = [];
    private int _deadCount;

    /// <summary>Gets or sets the id of the last input entry this commit includes.</summary>
    public string Position { get; set; } = PartitionCursor.Start;

    /// <summary>Gets or sets the engine's clock at <see cref="Position"/>.</summary>
    public WindowClock Clock { get; set; } = WindowClock.Empty;

    /// <summary>Gets or sets the input's largest event time up to <see cref="Position"/>.</summary>
    public long StreamMaxTimestamp { get; set; } = long.MinValue;

    /// <summary>Gets or sets the partition's counts up to <see cref="Position"/>.</summary>
    public PartitionCounts Counts { get; set; }

    /// <summary>Gets or sets the commit's sequence number: one more than the partition's last commit.</summary>
    public long Sequence { get; set; } = 1;

    /// <summary>Gets or sets whether the partition's windows have all fired because the input is complete (its state is empty).</summary>
    public bool Final { get; set; }

    /// <summary>Gets or sets the id of the last result the stages after the window have taken, or <see langword="null"/> to leave it.</summary>
    public string? Delivered { get; set; }

    /// <summary>Gets the number of state entries set or removed.</summary>
    public int StateChanges => (_set.Count / 2) + _removed.Count;

    /// <summary>Gets the results (JSON lines), in firing order.</summary>
    public IReadOnlyList<RedisValue> Results => _results;

    /// <inheritdoc />
    public void Upsert(ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
    {
        _set.Add(field.ToArray());
        _set.Add(value.ToArray());
    }

    /// <inheritdoc />
    public void Remove(ReadOnlySpan<byte> field) => _removed.Add(field.ToArray());

    /// <summary>Adds a committed result (its JSON line).</summary>
    public void AddResult(string json) => _results.Add(json);

    /// <summary>Adds a late event.</summary>
    public void AddLate(string eventJson, string source, string reason)
    {
        _late.Add(eventJson);
        _late.Add(source);
        _late.Add(reason);
    }

    /// <summary>Adds a dead letter as field/value pairs.</summary>
    public void AddDead(params ReadOnlySpan<(string Field, RedisValue Value)> fields)
    {
        _dead.Add(fields.Length * 2);
        foreach (var (field, value) in fields)
        {
            _dead.Add(field);
            _dead.Add(value);
        }

        _deadCount++;
    }

    /// <summary>Forgets everything, for the next commit (the cursor values stay).</summary>
    public void Clear()
    {
        _set.Clear();
        _removed.Clear();
        _results.Clear();
        _late.Clear();
        _dead.Clear();
        _deadCount = 0;
    }

    /// <summary>Gets how many arguments the commit script would take inline.</summary>
    internal int ArgumentCount => 11 + 32 + _set.Count + _removed.Count + _results.Count + _late.Count + _dead.Count;

    /// <summary>The cursor's field/value pairs.</summary>
    internal RedisValue[] CursorFields(long now, long leaseUntil)
    {
        var c = Clock;
        var counts = Counts;
        return
        [
            "pos", Position, "wm", c.Watermark, "maxts", c.MaxTimestamp, "ver", c.Version, "smax", StreamMaxTimestamp,
            "read", counts.Read, "windowed", counts.Windowed, "late", counts.Late, "dead", counts.DeadLettered,
            "filtered", counts.Filtered, "results", counts.Results, "at", now, "until", leaseUntil, "final", Final ? 1 : 0,
            .. (Delivered is null ? (RedisValue[])[] : ["delivered", Delivered]),
        ];
    }

    /// <summary>The delta, for staging keys: state pairs, removed fields, results, late triples, dead letters as JSON arrays of [field, value].</summary>
    internal (List<RedisValue> Set, List<RedisValue> Removed, List<RedisValue> Results, List<RedisValue> Late, List<RedisValue> Dead) Staged()
    {
        var dead = new List<RedisValue>(_deadCount);
        for (var at = 0; at < _dead.Count;)
        {
            var n = (int)_dead[at];
            var pairs = new List<string[]>(n / 2);
            for (var i = at + 1; i < at + 1 + n; i += 2)
            {
                pairs.Add([(string)_dead[i]!, (string?)_dead[i + 1] ?? string.Empty]);
            }

            dead.Add(System.Text.Json.JsonSerializer.Serialize(pairs));
            at += n + 1;
        }

        return (_set, _removed, _results, _late, dead);
    }

    /// <summary>The commit script's arguments.</summary>
    internal RedisValue[] Arguments(long epoch, long now, long leaseUntil, (string Results, string Late, string Dead) trims)
    {
        var cursor = CursorFields(now, leaseUntil);
        var args = new RedisValue[11 + cursor.Length + _set.Count + _removed.Count + _results.Count + _late.Count + _dead.Count];
        args[0] = epoch;
        args[1] = cursor.Length;
        args[2] = _set.Count;
        args[3] = _removed.Count;
        args[4] = _results.Count;
        args[5] = _late.Count / 3;
        args[6] = _deadCount;
        args[7] = trims.Results;
        args[8] = trims.Late;
        args[9] = trims.Dead;
        args[10] = Sequence;
        var at = 11;
        cursor.CopyTo(args, at);
        at += cursor.Length;
        foreach (var list in (List<RedisValue>[])[_set, _removed, _results, _late, _dead])
        {
            list.CopyTo(args, at);
            at += list.Count;
        }

        return args;
    }
}
