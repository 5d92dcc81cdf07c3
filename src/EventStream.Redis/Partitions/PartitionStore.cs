using EventStream.Windowing.State;
using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace EventStream.Redis.Partitions;

/// <summary>
/// A partitioned computation's keys in Redis, as its workers use them: the stored definition every worker must agree
/// with, the member set, each partition's lease, its atomic commit and the restore of its cursor and state.
/// </summary>
internal sealed class PartitionStore(IDatabase db, PartitionKeys keys)
{
    /// <summary>What became of a commit.</summary>
    public enum CommitOutcome
    {
        /// <summary>Refused: another epoch owns the partition; nothing was written.</summary>
        Fenced = 0,

        /// <summary>Written now.</summary>
        Applied = 1,

        /// <summary>Written before (the reply was lost); not written again.</summary>
        AlreadyApplied = 2,
    }

    /// <summary>How many state entries a restore reads per HSCAN page.</summary>
    public const int RestorePage = 10_000;

    /// <summary>
    /// The most arguments a commit sends inline (StackExchange.Redis refuses a command of over 1,048,576); a larger one
    /// (a backlog of new keys, or every window of a big partition firing at the end of the input) is staged first.
    /// </summary>
    public const int MaxInlineArguments = 200_000;

    public PartitionKeys Keys => keys;

    /// <summary>
    /// Stores the computation's definition at its first start, or checks that it equals the stored one; throws, naming
    /// each property that differs, when it does not (a worker with another partition count or window must not mix in).
    /// </summary>
    public async Task EnsureDefinitionAsync(IReadOnlyDictionary<string, string> definition)
    {
        var json = JsonSerializer.Serialize(definition.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value));
        if (await db.StringSetAsync(keys.Definition, json, when: When.NotExists).ConfigureAwait(false))
        {
            return;
        }

        var stored = (string?)await db.StringGetAsync(keys.Definition).ConfigureAwait(false);
        var theirs = stored is null ? [] : JsonSerializer.Deserialize<Dictionary<string, string>>(stored) ?? [];
        var differences = definition.Keys.Union(theirs.Keys).Order(StringComparer.Ordinal)
            .Where(k => !theirs.TryGetValue(k, out var a) || !definition.TryGetValue(k, out var b) || a != b)
            .Select(k => $"{k}: stored {Show(theirs, k)}, this worker {Show(definition, k)}")
            .ToList();
        if (differences.Count > 0)
        {
            throw new InvalidOperationException(
                $"The computation on stream '{keys.Stream}' was started with another definition ({string.Join("; ", differences)}). " +
                $"A worker must run the same partition count, window and aggregate; to start over, use another group name or delete the key '{keys.Definition}'.");
        }

        static string Show(IReadOnlyDictionary<string, string> d, string k) => d.TryGetValue(k, out var v) ? v : "(none)";
    }

    /// <summary>The partition count stored with the computation's definition, or <see langword="null"/> before its first start.</summary>
    public async Task<int?> StoredPartitionsAsync()
    {
        var stored = (string?)await db.StringGetAsync(keys.Definition).ConfigureAwait(false);
        return stored is not null && JsonSerializer.Deserialize<Dictionary<string, string>>(stored) is { } d && d.TryGetValue("partitions", out var n)
            ? int.Parse(n, CultureInfo.InvariantCulture)
            : null;
    }

    /// <summary>Announces <paramref name="member"/> as live until <paramref name="until"/> (epoch ms).</summary>
    public Task HeartbeatAsync(string member, long until) => db.SortedSetAddAsync(keys.Members, member, until);

    /// <summary>Removes <paramref name="member"/> from the member set (a worker that stops).</summary>
    public Task LeaveAsync(string member) => db.SortedSetRemoveAsync(keys.Members, member);

    /// <summary>
    /// The members whose heartbeat has not run out at <paramref name="now"/>, in name order, and when the first of those
    /// heartbeats runs out (epoch ms; <see cref="long.MaxValue"/> for none): the member set changes then.
    /// </summary>
    public async Task<(string[] Names, long NextExpiry)> LiveMembersAsync(long now)
    {
        var members = await db.SortedSetRangeByScoreWithScoresAsync(keys.Members, now, double.PositiveInfinity, Exclude.Start).ConfigureAwait(false);
        var names = members.Select(m => m.Element.ToString()).ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        return (names, members.Length == 0 ? long.MaxValue : (long)members.Min(m => m.Score));
    }

    /// <summary>Takes the partition's lease when it is free; returns the new epoch, or 0 with the holder and when its lease runs out.</summary>
    public async Task<Acquisition> TryAcquireAsync(int partition, string owner, long now, long until)
    {
        var reply = (RedisResult[])(await db.ScriptEvaluateAsync(PartitionScripts.Acquire, [keys.Cursor(partition)], [owner, now, until]).ConfigureAwait(false))!;
        var epoch = (long)reply[0];
        return epoch == 0
            ? new Acquisition(0, (string?)reply[1], long.Parse((string)reply[2]!, NumberStyles.Integer, CultureInfo.InvariantCulture))
            : new Acquisition(epoch, null, 0);
    }

    /// <summary>What became of an attempt to take a lease: the new epoch, or 0 with the holder and its lease's expiry (epoch ms).</summary>
    public readonly record struct Acquisition(long Epoch, string? Holder, long HeldUntil)
    {
        public void Deconstruct(out long epoch, out string? holder)
        {
            epoch = Epoch;
            holder = Holder;
        }
    }

    /// <summary>Extends the lease; <see langword="false"/> when another epoch has taken the partition.</summary>
    public async Task<bool> RenewAsync(int partition, long epoch, long until) =>
        (long)await db.ScriptEvaluateAsync(PartitionScripts.Renew, [keys.Cursor(partition)], [epoch, until]).ConfigureAwait(false) == 1;

    /// <summary>Gives the lease up; <see langword="false"/> when another epoch has taken the partition.</summary>
    public async Task<bool> ReleaseAsync(int partition, long epoch) =>
        (long)await db.ScriptEvaluateAsync(PartitionScripts.Release, [keys.Cursor(partition)], [epoch]).ConfigureAwait(false) == 1;

    /// <summary>
    /// Commits <paramref name="commit"/> atomically and extends the lease to <paramref name="leaseUntil"/>: the outcome
    /// says whether it was applied now (with the id of its last result), had been applied before, or was fenced (nothing
    /// written: <paramref name="epoch"/> is no longer the partition's).
    /// </summary>
    public async Task<(CommitOutcome Outcome, string? LastResult)> CommitAsync(int partition, long epoch, PartitionCommit commit, long now, long leaseUntil, (string Results, string Late, string Dead) trims)
    {
        RedisKey[] k = [keys.Cursor(partition), keys.State(partition), keys.Results(partition), keys.Late(partition), keys.Dead(partition)];
        var reply = commit.ArgumentCount <= MaxInlineArguments
            ? (RedisResult[])(await db.ScriptEvaluateAsync(PartitionScripts.Commit, k, commit.Arguments(epoch, now, leaseUntil, trims)).ConfigureAwait(false))!
            : await CommitStagedAsync(partition, epoch, commit, now, leaseUntil, trims, k).ConfigureAwait(false);
        var outcome = (CommitOutcome)(long)reply[0];
        var last = outcome == CommitOutcome.Applied && reply.Length > 1 ? (string?)reply[1] : null;
        return (outcome, string.IsNullOrEmpty(last) ? null : last);
    }

    /// <summary>
    /// A commit too large for one command: its delta goes into staging keys named by the epoch and sequence number (so
    /// a fenced owner's staging never mixes with its successor's; they expire if the owner dies before applying them),
    /// in pipelined chunks, then one script applies them with the cursor, atomically.
    /// </summary>
    private async Task<RedisResult[]> CommitStagedAsync(int partition, long epoch, PartitionCommit commit, long now, long leaseUntil, (string Results, string Late, string Dead) trims, RedisKey[] k)
    {
        var stage = keys.Staging(partition, epoch, commit.Sequence);
        var (set, removed, results, late, dead) = commit.Staged();
        var writes = new List<Task>();
        for (var i = 0; i < set.Count; i += 2_000)
        {
            var chunk = set.GetRange(i, Math.Min(2_000, set.Count - i));
            writes.Add(db.HashSetAsync(stage[0], [.. Enumerable.Range(0, chunk.Count / 2).Select(j => new HashEntry(chunk[2 * j], chunk[(2 * j) + 1]))]));
        }

        foreach (var (key, values) in new[] { (stage[1], removed), (stage[2], results), (stage[3], late), (stage[4], dead) })
        {
            for (var i = 0; i < values.Count; i += 2_000)
            {
                var chunk = values.GetRange(i, Math.Min(2_000, values.Count - i)).ToArray();
                writes.Add(key == stage[1] ? db.SetAddAsync(key, chunk) : db.ListRightPushAsync(key, chunk));
            }
        }

        writes.AddRange(stage.Select(key => db.KeyExpireAsync(key, TimeSpan.FromHours(1)))); // after the writes, on the same connection
        await Task.WhenAll(writes).ConfigureAwait(false);

        var cursor = commit.CursorFields(now, leaseUntil);
        RedisValue[] args = [epoch, cursor.Length, trims.Results, trims.Late, trims.Dead, commit.Sequence, .. cursor];
        return (RedisResult[])(await db.ScriptEvaluateAsync(PartitionScripts.CommitStaged, [.. k, .. stage], args).ConfigureAwait(false))!;
    }

    /// <summary>Reads the partition's cursor (all defaults for a partition never committed).</summary>
    public async Task<PartitionCursor> ReadCursorAsync(int partition)
    {
        var fields = (await db.HashGetAllAsync(keys.Cursor(partition)).ConfigureAwait(false)).ToDictionary(e => e.Name.ToString(), e => e.Value);
        long Get(string name, long fallback) => fields.TryGetValue(name, out var v) ? long.Parse(v.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture) : fallback;
        return new PartitionCursor(
            Get("epoch", 0),
            fields.TryGetValue("owner", out var owner) ? owner.ToString() : null,
            Get("until", 0),
            fields.TryGetValue("pos", out var pos) ? pos.ToString() : PartitionCursor.Start,
            new WindowClock(Get("wm", long.MinValue), Get("maxts", long.MinValue), Get("ver", 0)),
            Get("smax", long.MinValue),
            new PartitionCounts(Get("read", 0), Get("windowed", 0), Get("late", 0), Get("dead", 0), Get("filtered", 0), Get("results", 0)),
            Get("at", 0),
            Get("seq", 0),
            fields.TryGetValue("delivered", out var delivered) ? delivered.ToString() : PartitionCursor.Start,
            Get("final", 0) == 1);
    }

    /// <summary>Reads the partition's state entries, a page at a time.</summary>
    public IAsyncEnumerable<HashEntry> ReadStateAsync(int partition) => db.HashScanAsync(keys.State(partition), pageSize: RestorePage);
}
