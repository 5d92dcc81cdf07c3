namespace EventStream.Redis.Streams;

/// <summary>
/// The Lua scripts of a consumer group's dead-letter stream (<c>ns:dead</c>, under the namespace
/// <see cref="RedisKeys.Namespace"/> gives, in the input stream's slot). Each runs atomically and is safe to run twice:
/// dead-lettering is gated on <c>XACK</c> returning 1 (the entry was still pending), a replay on <c>XDEL</c> removing
/// the dead letter — two separate calls could duplicate or lose an entry.
/// </summary>
internal static class StreamScripts
{
    /// <summary>The <c>event</c> field of a stream entry: '' when the entry has none, nil when the entry is gone.</summary>
    private const string EventOf = """
        local function eventOf(key, id)
            local e = redis.call('XRANGE', key, id, id)
            if not e[1] then return nil end
            local f = e[1][2]
            for i = 1, #f, 2 do if f[i] == 'event' then return f[i + 1] end end
            return ''
        end

        """;

    /// <summary>
    /// Dead-letters entries: per entry, <c>XACK</c>; only when that returned 1 the entry is copied to the dead-letter
    /// stream with its error and deleted from the input. KEYS: stream. ARGV: ns, group, stage, now (ms), then triples
    /// (id, error, deliveries). Returns how many were moved.
    /// </summary>
    public const string DeadLetter = EventOf + """
        local ns = ARGV[1]
        local stream = KEYS[1]
        local moved = 0
        for i = 5, #ARGV, 3 do
            local id = ARGV[i]
            if redis.call('XACK', stream, ARGV[2], id) == 1 then
                local json = eventOf(stream, id) or ''
                redis.call('XADD', ns .. ':dead', '*', 'id', id, 'event', json, 'stage', ARGV[3], 'error', ARGV[i + 1], 'attempts', ARGV[i + 2], 'failed', ARGV[4])
                redis.call('XDEL', stream, id)
                moved = moved + 1
            end
        end
        return moved
        """;

    /// <summary>
    /// Replays one dead letter: only if it is still in the dead-letter stream (<c>XDEL</c> returned 1) is its event added
    /// back to the input. KEYS: stream. ARGV: ns, dead-letter id. Returns the new entry id, or false.
    /// </summary>
    public const string Replay = EventOf + """
        local dead = ARGV[1] .. ':dead'
        local json = eventOf(dead, ARGV[2])
        if not json then return false end
        if redis.call('XDEL', dead, ARGV[2]) ~= 1 then return false end
        return redis.call('XADD', KEYS[1], '*', 'event', json)
        """;
}
