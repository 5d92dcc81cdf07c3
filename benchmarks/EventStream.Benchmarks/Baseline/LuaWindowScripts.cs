namespace EventStream.Benchmarks.Baseline;

/// <summary>
/// The Lua scripts of <see cref="LuaWindowWorker{T}"/>: the retired <c>RedisWindowScripts</c> (EventStream.Redis, until
/// issue 10), trimmed to the benchmark's case — sliding and tumbling windows summing a value (sessions, the other
/// aggregates, dead letters, replay and the throughput read are gone); the paths the benchmark runs are as they were.
/// Each runs atomically under the stream's hash tag and is safe to run twice: an apply is gated on the entries still
/// being pending (one range read of the pending list, or <c>XACK</c> returning 1), a firing on <c>ZREM</c> removing the
/// open window.
/// <para>
/// Keys under <c>ns = prefix:{stream}:group</c>: <c>ns:meta</c> (maxts, wm, complete), <c>ns:inflight</c> and
/// <c>ns:holdat</c> (one hold per consumer), <c>ns:open</c> (windows not yet fired, scored by end − 1), <c>ns:fired</c>
/// (fired windows still taking late events), <c>ns:purge</c> (slices of sliding windows, scored by when they can go),
/// <c>ns:s:KEY:SLICE</c> (slice state), <c>ns:fn</c> (firing counts), streams <c>ns:results</c> and <c>ns:late</c>,
/// counters in <c>ns:metrics</c> and per-second <c>ns:tp:SECOND</c>.
/// </para>
/// </summary>
internal static class LuaWindowScripts
{
    /// <summary>Shared helpers: integer formatting, floor, the watermark, firing and purging.</summary>
    private const string Common = """
        local NEG = -1000000000000000000
        local POS = 1000000000000000000
        local function I(x) return string.format('%d', x) end
        local function floorTo(t, unit)
            local r = math.fmod(t, unit)
            if r < 0 then r = r + unit end
            return t - r
        end
        local function eventOf(key, id)
            local e = redis.call('XRANGE', key, id, id)
            if not e[1] then return nil end
            local f = e[1][2]
            for i = 1, #f, 2 do if f[i] == 'event' then return f[i + 1] end end
            return ''
        end
        local ns = ARGV[1]
        local meta = ns .. ':meta'
        local inflight = ns .. ':inflight'
        local open = ns .. ':open'
        local fired = ns .. ':fired'
        local purge = ns .. ':purge'
        local metrics = ns .. ':metrics'
        local size = tonumber(ARGV[4])
        local slide = tonumber(ARGV[5])
        local pane = tonumber(ARGV[6])
        local ooo = tonumber(ARGV[7])
        local lateness = tonumber(ARGV[8])
        local results = {}
        local resultCount = 0

        local function stateKeys(member)
            local s, e, key = string.match(member, '^(%-?%d+):(%-?%d+):(.*)$')
            s = tonumber(s)
            e = tonumber(e)
            local hashes = {}
            local p = s
            while p < e do
                hashes[#hashes + 1] = ns .. ':s:' .. key .. ':' .. I(p)
                p = p + pane
            end
            return s, e, key, hashes
        end

        local function emit(member, firing, number)
            local s, e, key, hashes = stateKeys(member)
            local count, sum = 0, 0
            local sumText, parts = nil, 0
            for _, h in ipairs(hashes) do
                local cv = redis.call('HMGET', h, 'c', 'v')
                local c, v = cv[1], cv[2]
                if c then
                    count = count + tonumber(c)
                    parts = parts + 1
                    sumText = v
                    sum = sum + tonumber(v)
                end
            end
            if count == 0 then return end
            local value
            if parts == 1 then value = sumText else value = string.format('%.17g', sum) end
            redis.call('XADD', ns .. ':results', '*', 'key', key, 'start', I(s), 'end', I(e), 'value', value, 'count', I(count), 'firing', firing, 'number', number)
            local n = #results
            results[n + 1] = key
            results[n + 2] = I(s)
            results[n + 3] = I(e)
            results[n + 4] = value
            results[n + 5] = I(count)
            results[n + 6] = firing
            results[n + 7] = number
            resultCount = resultCount + 1
        end

        -- Tumbling windows are their own slice: the slice goes with its window (no purge set).
        local tumbling = size == slide

        local function forget(member)
            if lateness > 0 then redis.call('HDEL', ns .. ':fn', member) end
            if tumbling then
                local s0, _, key = string.match(member, '^(%-?%d+):(%-?%d+):(.*)$')
                redis.call('DEL', ns .. ':s:' .. key .. ':' .. s0)
            end
        end

        local function currentWatermark()
            local m = redis.call('HMGET', meta, 'wm', 'complete')
            if m[2] then return POS end
            return tonumber(m[1]) or NEG
        end

        local function advance(limit)
            local wm = currentWatermark()
            if wm < POS then
                local maxts = tonumber(redis.call('HGET', meta, 'maxts'))
                if maxts then
                    local candidate = maxts - ooo - 1
                    -- Holds are per consumer: set before each read, released by the consumer's own apply once it has
                    -- nothing pending, or by anyone once it is stale (nothing pending, not renewed for the claim time).
                    local now = redis.call('TIME')
                    local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
                    -- At most 50 stale holds go per call; whatever hold is lowest after that caps the watermark as if live.
                    for round = 1, 51 do
                        local low = redis.call('ZRANGE', inflight, 0, 0, 'WITHSCORES')
                        if not low[1] then break end
                        local holder = string.sub(low[1], 3)
                        local at = tonumber(redis.call('HGET', ns .. ':holdat', low[1])) or 0
                        if round <= 50 and holder ~= ARGV[11] and nowMs - at >= tonumber(ARGV[12])
                            and #redis.call('XPENDING', KEYS[1], ARGV[2], '-', '+', 1, holder) == 0 then
                            redis.call('ZREM', inflight, low[1])
                            redis.call('HDEL', ns .. ':holdat', low[1])
                        else
                            if tonumber(low[2]) - 1 < candidate then candidate = tonumber(low[2]) - 1 end
                            break
                        end
                    end
                    if candidate > wm then
                        wm = candidate
                        redis.call('HSET', meta, 'wm', I(wm))
                    end
                end
            end
            local due = redis.call('ZRANGEBYSCORE', open, '-inf', wm, 'WITHSCORES', 'LIMIT', 0, limit)
            for i = 1, #due, 2 do
                local member = due[i]
                if redis.call('ZREM', open, member) == 1 then
                    if lateness > 0 then
                        emit(member, '1', I(redis.call('HINCRBY', ns .. ':fn', member, 1)))
                    else
                        emit(member, '1', '1')
                    end
                    if lateness > 0 and wm < POS then
                        redis.call('ZADD', fired, tonumber(due[i + 1]) + lateness, member)
                    else
                        forget(member)
                    end
                end
            end
            local more = 0
            if #due == 2 * limit then more = 1 end
            local gone = redis.call('ZRANGEBYSCORE', fired, '-inf', wm, 'LIMIT', 0, 1000)
            for _, member in ipairs(gone) do
                redis.call('ZREM', fired, member)
                forget(member)
            end
            local slices = redis.call('ZRANGEBYSCORE', purge, '-inf', wm, 'LIMIT', 0, 1000)
            for _, member in ipairs(slices) do
                local p, key = string.match(member, '^(%-?%d+):(.*)$')
                redis.call('DEL', ns .. ':s:' .. key .. ':' .. p)
                redis.call('ZREM', purge, member)
            end
            if resultCount > 0 then redis.call('HINCRBY', metrics, 'results', resultCount) end
            return wm, more
        end
        """;

    /// <summary>
    /// Sets a consumer's hold before it reads (the read itself is a plain <c>XREADGROUP</c> sent right after): scored by
    /// the lowest timestamp an entry read next may carry without being late — the largest timestamp applied so far less
    /// the out-of-orderness; for a claim, the lowest hold of all (claimed entries are older). While the hold stands the
    /// watermark stays below it. A lower hold already there is kept. KEYS: stream (routing). ARGV: ns, consumer, ooo,
    /// '1' for a claim.
    /// </summary>
    public const string Hold = """
        local ns = ARGV[1]
        local inflight = ns .. ':inflight'
        local maxts = tonumber(redis.call('HGET', ns .. ':meta', 'maxts'))
        local bound = -1000000000000000000
        if maxts then bound = maxts - tonumber(ARGV[3]) end
        if ARGV[4] == '1' then
            local low = redis.call('ZRANGE', inflight, 0, 0, 'WITHSCORES')
            if low[2] and tonumber(low[2]) < bound then bound = tonumber(low[2]) end
        end
        local member = 'r:' .. ARGV[2]
        local current = redis.call('ZSCORE', inflight, member)
        if not current or tonumber(current) > bound then redis.call('ZADD', inflight, bound, member) end
        local now = redis.call('TIME')
        redis.call('HSET', ns .. ':holdat', member, tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
        return 1
        """;

    /// <summary>
    /// Applies a batch: only entries still pending in the group are applied and acknowledged — one already acknowledged
    /// was applied before (a redelivery) — each added to its slice or, when every window of it is late, copied to the
    /// late stream; each slice is updated once per batch. Then the watermark advances and due windows fire. KEYS: stream.
    /// ARGV: ns, group, 't', size, slide, pane, ooo, lateness, 'sum', fire limit, consumer, claim time (ms), n, mode;
    /// mode 'e': n × (id, key, ts, value); mode 'g' (summed by the worker per key and slice): n ids, the group count, per
    /// group (key, slice, count, sum, best, count × entry index), then the batch's largest timestamp; last, 'finish' or
    /// ''. Returns { windowed, late, duplicates, more (−1: finish refused: entries pending or not yet delivered; −2: mode
    /// 'g' refused, an entry was applied before), wm, results… (7 per result) }.
    /// </summary>
    public const string Apply = Common + """

        local stream = KEYS[1]
        local group = ARGV[2]
        local limit = tonumber(ARGV[10])
        local n = tonumber(ARGV[13])
        local mode = ARGV[14]
        local consumer = ARGV[11]
        local wm = currentWatermark()
        local maxts = tonumber(redis.call('HGET', meta, 'maxts'))
        local windowed, late, dup = 0, 0, 0

        local function toLate(id)
            local json = eventOf(stream, id) or ''
            redis.call('XADD', ns .. ':late', '*', 'id', id, 'event', json)
            late = late + 1
        end

        -- Events are summed per (key, slice) first; each slice is then updated once per batch.
        local slices, order = {}, {}
        local function addSliding(id, key, ts, value)
            local lastEnd = floorTo(ts, slide) + size
            if lastEnd - 1 + lateness <= wm then toLate(id) return end
            local p = floorTo(ts, pane)
            local sk = key .. '\0' .. I(p)
            local sl = slices[sk]
            if not sl then
                sl = { key = key, p = p, c = 0, sum = 0 }
                slices[sk] = sl
                order[#order + 1] = sk
            end
            sl.c = sl.c + 1
            sl.sum = sl.sum + tonumber(value)
            windowed = windowed + 1
        end

        local function flushSlices()
            local refired = {}
            for _, sk in ipairs(order) do
                local sl = slices[sk]
                local key, p = sl.key, sl.p
                local hash = ns .. ':s:' .. key .. ':' .. I(p)
                local c = redis.call('HINCRBY', hash, 'c', sl.c)
                redis.call('HINCRBYFLOAT', hash, 'v', sl.sumText or string.format('%.17g', sl.sum))
                local sliceLast = floorTo(p, slide)
                if c == sl.c then
                    -- A new slice: register the windows that hold it, and when it can go.
                    if not tumbling then redis.call('ZADD', purge, sliceLast + size - 1 + lateness, I(p) .. ':' .. key) end
                    local st = sliceLast
                    while st + size > p do
                        if st + size - 1 + lateness > wm then
                            local member = I(st) .. ':' .. I(st + size) .. ':' .. key
                            if lateness == 0 or not redis.call('ZSCORE', fired, member) then
                                redis.call('ZADD', open, 'NX', st + size - 1, member)
                            end
                        end
                        st = st - slide
                    end
                end
                if lateness > 0 then
                    -- Windows that fired already fire again with the update (once per window per batch).
                    local st = sliceLast
                    while st + size > p do
                        local member = I(st) .. ':' .. I(st + size) .. ':' .. key
                        if not refired[member] and st + size - 1 + lateness > wm and redis.call('ZSCORE', fired, member) then
                            refired[member] = true
                            emit(member, '2', I(redis.call('HINCRBY', ns .. ':fn', member, 1)))
                        end
                        st = st - slide
                    end
                end
            end
        end

        local finish
        if mode == 'g' then
            -- Grouped: the worker summed the batch per (key, slice). It applies only when every entry is still pending;
            -- otherwise nothing is changed and the worker sends the entries one by one.
            if n > 0 then
                -- One range read of the pending list (the entries of a read are consecutive, so the range holds little
                -- else); any entry of the batch missing from it was applied before.
                local limit = 2 * n + 100
                local pending = redis.call('XPENDING', stream, group, ARGV[15], ARGV[14 + n], limit)
                if #pending >= limit then return { 0, 0, 0, -2, I(wm) } end
                local set = {}
                for _, e in ipairs(pending) do set[e[1]] = true end
                for i = 15, 14 + n do
                    if not set[ARGV[i]] then return { 0, 0, 0, -2, I(wm) } end
                end
                for i = 15, 14 + n, 1000 do
                    redis.call('XACK', stream, group, unpack(ARGV, i, math.min(i + 999, 14 + n)))
                end
            end
            local pos = 15 + n
            local groups = tonumber(ARGV[pos])
            pos = pos + 1
            for _ = 1, groups do
                local key, pText, c = ARGV[pos], ARGV[pos + 1], tonumber(ARGV[pos + 2])
                local p = tonumber(pText)
                local sumText = ARGV[pos + 3]
                local idx = pos + 5
                pos = idx + c
                if floorTo(p, slide) + size - 1 + lateness <= wm then
                    for j = 0, c - 1 do toLate(ARGV[14 + tonumber(ARGV[idx + j])]) end
                else
                    local sk = key .. '\0' .. pText
                    local sl = slices[sk]
                    if sl then
                        sl.c = sl.c + c
                    else
                        sl = { key = key, p = p, c = c, sum = 0, sumText = sumText }
                        slices[sk] = sl
                        order[#order + 1] = sk
                    end
                    windowed = windowed + c
                end
            end
            if n > 0 then
                local top = tonumber(ARGV[pos])
                if not maxts or top > maxts then maxts = top end
            end
            finish = ARGV[pos + 1]
        else
            -- One by one (a batch with a redelivered entry): XACK returns 1 only the first time.
            for i = 0, n - 1 do
                local base = 15 + i * 4
                local id = ARGV[base]
                if redis.call('XACK', stream, group, id) == 1 then
                    local ts = tonumber(ARGV[base + 2])
                    addSliding(id, ARGV[base + 1], ts, ARGV[base + 3])
                    if not maxts or ts > maxts then maxts = ts end
                else
                    dup = dup + 1
                end
            end
            finish = ARGV[15 + n * 4]
        end
        flushSlices()
        if maxts then redis.call('HSET', meta, 'maxts', I(maxts)) end
        -- This consumer's hold goes once it has nothing pending (entries that failed for a while keep it).
        if #redis.call('XPENDING', stream, group, '-', '+', 1, consumer) == 0 then
            redis.call('ZREM', inflight, 'r:' .. consumer)
            redis.call('HDEL', ns .. ':holdat', 'r:' .. consumer)
        end
        if windowed > 0 then redis.call('HINCRBY', metrics, 'windowed', windowed) end
        if late > 0 then redis.call('HINCRBY', metrics, 'late', late) end
        if windowed + late > 0 then
            local now = redis.call('TIME')
            local tp = ns .. ':tp:' .. now[1]
            redis.call('INCRBY', tp, windowed + late)
            redis.call('EXPIRE', tp, 120)
        end
        if finish == 'finish' then
            -- Complete only when nothing is pending and the group has been handed the stream's newest entry: one added
            -- since the worker last looked must not be made late by closing everything.
            local pending = redis.call('XPENDING', stream, group)
            if tonumber(pending[1]) > 0 then return { windowed, late, dup, -1, I(wm) } end
            local newest = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
            if newest[1] then
                local delivered = '0-0'
                for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
                    local name, last
                    for i = 1, #g, 2 do
                        if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
                    end
                    if name == group then delivered = last end
                end
                local nm, ns2 = string.match(newest[1][1], '^(%d+)-(%d+)$')
                local dm, ds = string.match(delivered, '^(%d+)-(%d+)$')
                nm, ns2, dm, ds = tonumber(nm), tonumber(ns2), tonumber(dm), tonumber(ds)
                if nm > dm or (nm == dm and ns2 > ds) then return { windowed, late, dup, -1, I(wm) } end
            end
            redis.call('HSET', meta, 'complete', '1')
        end
        local newWm, more = advance(limit)
        local reply = { windowed, late, dup, more, I(newWm) }
        for _, v in ipairs(results) do reply[#reply + 1] = v end
        return reply
        """;
}
