namespace EventStream.Redis.Partitions;

/// <summary>
/// The Lua scripts of partitioned execution. Each touches the keys of one partition only (one hash tag, one cluster
/// slot). The owner computes; the scripts store: every number is passed and kept as a string, so 64-bit positions,
/// timestamps and counts never pass through Lua's doubles, except the lease expiry (epoch ms, exact in a double).
/// A lease is the cursor's <c>owner</c>, <c>epoch</c> and <c>until</c>: taking it raises the epoch, and a commit is
/// refused unless it carries the current epoch (the fencing token, checked where the state is).
/// </summary>
internal static class PartitionScripts
{
    /// <summary>
    /// Takes the lease when it is free (no owner, released, or expired by the caller's clock). KEYS: cursor. ARGV: owner,
    /// now (ms), until (ms). Returns <c>{epoch, ''}</c> when taken, <c>{0, owner, until}</c> when another holds it.
    /// </summary>
    public const string Acquire = """
        local v = redis.call('HMGET', KEYS[1], 'owner', 'until')
        if v[1] and v[1] ~= ARGV[1] and tonumber(v[2] or '0') > tonumber(ARGV[2]) then return {0, v[1], v[2]} end
        local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
        redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'until', ARGV[3])
        return {epoch, ''}
        """;

    /// <summary>Extends the lease of the current epoch. KEYS: cursor. ARGV: epoch, until (ms). Returns 1, or 0 when fenced.</summary>
    public const string Renew = """
        if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'until', ARGV[2])
        return 1
        """;

    /// <summary>Gives the lease up at once (after a final commit). KEYS: cursor. ARGV: epoch. Returns 1, or 0 when fenced.</summary>
    public const string Release = """
        if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'until', '0')
        return 1
        """;

    /// <summary>
    /// Commits a partition atomically: the cursor's fields (position, clock, counts, lease expiry), the state delta
    /// (fields set, fields removed), the results, late events and dead letters since the last commit, and the streams'
    /// retention trims. Refused (<c>{0}</c>, nothing written) unless ARGV[1] is the current epoch; a commit whose sequence
    /// number the cursor already has was applied before (its reply was lost) and is not applied again (<c>{2}</c>), so an
    /// owner may send a commit again after an outage. Returns <c>{1, id of the last result added or ''}</c>.
    /// KEYS: cursor, state, results, late, dead. ARGV: epoch, then the counts of cursor arguments, state arguments set
    /// and removed, results, late events and dead letters, then the three trim ids ('' for none), the commit's sequence number, then the data:
    /// cursor field/value pairs, state field/value pairs, removed fields, one value per result, three per late event
    /// (event, source, reason), and per dead letter its field count and field/value pairs.
    /// </summary>
    public const string Commit = """
        local c = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
        if c[1] ~= ARGV[1] then return {0} end
        if tonumber(c[2] or '0') >= tonumber(ARGV[11]) then return {2} end
        local nCursor, nSet, nDel = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
        local nResults, nLate, nDead = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
        local i = 12
        local function bulk(cmd, key, count)
            local last = i + count - 1
            while i <= last do
                local stop = math.min(i + 3999, last)
                redis.call(cmd, key, unpack(ARGV, i, stop))
                i = stop + 1
            end
        end
        bulk('HSET', KEYS[1], nCursor)
        bulk('HSET', KEYS[2], nSet)
        bulk('HDEL', KEYS[2], nDel)
        local last = ''
        for _ = 1, nResults do
            last = redis.call('XADD', KEYS[3], '*', 'result', ARGV[i])
            i = i + 1
        end
        for _ = 1, nLate do
            redis.call('XADD', KEYS[4], '*', 'event', ARGV[i], 'source', ARGV[i + 1], 'reason', ARGV[i + 2])
            i = i + 3
        end
        for _ = 1, nDead do
            local n = tonumber(ARGV[i])
            redis.call('XADD', KEYS[5], '*', unpack(ARGV, i + 1, i + n))
            i = i + n + 1
        end
        for k = 3, 5 do
            if ARGV[5 + k] ~= '' then redis.call('XTRIM', KEYS[k], 'MINID', '~', ARGV[5 + k]) end
        end
        redis.call('HSET', KEYS[1], 'seq', ARGV[11])
        return {1, last}
        """;

    /// <summary>
    /// Commits a partition whose delta is too large for one command (over <see cref="PartitionStore.MaxInlineArguments"/>
    /// arguments): the owner first wrote it into staging keys of its own epoch and sequence number (same slot), and this
    /// script applies them and the cursor atomically, as <see cref="Commit"/> does, then deletes them. It runs longer (it
    /// moves the whole delta inside Redis), but it is still one atomic step. KEYS: cursor, state, results, late, dead,
    /// then the staged state set (hash), removed fields (set), results (list), late events (list of triples) and dead
    /// letters (list of JSON objects). ARGV: epoch, number of cursor arguments, the three trim ids, the sequence number,
    /// then the cursor field/value pairs.
    /// </summary>
    public const string CommitStaged = """
        local c = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
        if c[1] ~= ARGV[1] or tonumber(c[2] or '0') >= tonumber(ARGV[6]) then
            redis.call('DEL', KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10])
            if c[1] ~= ARGV[1] then return {0} end
            return {2}
        end
        local nCursor = tonumber(ARGV[2])
        if nCursor > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 7, 6 + nCursor)) end
        local cursor = '0'
        repeat
            local page = redis.call('HSCAN', KEYS[6], cursor, 'COUNT', 1000)
            cursor = page[1]
            if #page[2] > 0 then redis.call('HSET', KEYS[2], unpack(page[2])) end
        until cursor == '0'
        repeat
            local page = redis.call('SSCAN', KEYS[7], cursor, 'COUNT', 1000)
            cursor = page[1]
            if #page[2] > 0 then redis.call('HDEL', KEYS[2], unpack(page[2])) end
        until cursor == '0'
        local last = ''
        local n = redis.call('LLEN', KEYS[8])
        for from = 0, n - 1, 1000 do
            for _, result in ipairs(redis.call('LRANGE', KEYS[8], from, from + 999)) do
                last = redis.call('XADD', KEYS[3], '*', 'result', result)
            end
        end
        n = redis.call('LLEN', KEYS[9])
        for from = 0, n - 1, 999 do
            local page = redis.call('LRANGE', KEYS[9], from, from + 998)
            for i = 1, #page, 3 do
                redis.call('XADD', KEYS[4], '*', 'event', page[i], 'source', page[i + 1], 'reason', page[i + 2])
            end
        end
        n = redis.call('LLEN', KEYS[10])
        for from = 0, n - 1, 1000 do
            for _, letter in ipairs(redis.call('LRANGE', KEYS[10], from, from + 999)) do
                local fields = {}
                for _, pair in ipairs(cjson.decode(letter)) do
                    fields[#fields + 1] = pair[1]
                    fields[#fields + 1] = pair[2]
                end
                redis.call('XADD', KEYS[5], '*', unpack(fields))
            end
        end
        for k = 3, 5 do
            if ARGV[k] ~= '' then redis.call('XTRIM', KEYS[k], 'MINID', '~', ARGV[k]) end
        end
        redis.call('DEL', KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10])
        redis.call('HSET', KEYS[1], 'seq', ARGV[6])
        return {1, last}
        """;
}
