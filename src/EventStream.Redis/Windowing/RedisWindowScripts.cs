namespace EventStream.Redis.Windowing;

/// <summary>
/// The Lua scripts of the Redis window worker. Each runs atomically on the server, touches only keys under one hash tag
/// (the stream's), and is safe to run twice: effects are gated on the entry still being pending (apply: in the pending
/// list, or <c>XACK</c> returning 1; dead-letter: <c>XACK</c> returning 1), on
/// <c>ZREM</c> removing an open window (fire) or on <c>XDEL</c> removing a dead letter (replay).
/// <para>
/// Key layout under the namespace <c>ns = prefix:{stream}:group</c> (or <c>prefix:{tag}:stream:group</c> for a stream key with a hash tag): <c>ns:meta</c> (maxts, wm, complete),
/// <c>ns:inflight</c> and <c>ns:holdat</c> (one hold per consumer, set before it reads: scored by the lowest timestamp
/// what it reads may carry without being late, and when it was set), <c>ns:open</c> (windows not yet fired, scored by end − 1), <c>ns:fired</c> (fired windows still taking
/// late events, scored by end − 1 + lateness), <c>ns:purge</c> (slices, scored by when they can go), <c>ns:s:KEY:SLICE</c>
/// and <c>ns:h:KEY:SLICE</c> (slice state and HyperLogLog), sessions in <c>ns:ss:KEY</c>, <c>ns:sb</c>, <c>ns:x:ID</c>,
/// <c>ns:xh:ID</c>, <c>ns:seq</c>; firing counts in <c>ns:fn</c>; streams <c>ns:results</c>, <c>ns:late</c>,
/// <c>ns:dead</c>; counters in <c>ns:metrics</c> and per-second <c>ns:tp:SECOND</c>.
/// </para>
/// </summary>
internal static class RedisWindowScripts
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

    /// <summary>Shared helpers: integer formatting, floor, the watermark, firing and purging.</summary>
    private const string Common = EventOf + """
        local NEG = -1000000000000000000
        local POS = 1000000000000000000
        local function I(x) return string.format('%d', x) end
        local function floorTo(t, unit)
            local r = math.fmod(t, unit)
            if r < 0 then r = r + unit end
            return t - r
        end
        local ns = ARGV[1]
        local meta = ns .. ':meta'
        local inflight = ns .. ':inflight'
        local open = ns .. ':open'
        local fired = ns .. ':fired'
        local purge = ns .. ':purge'
        local metrics = ns .. ':metrics'
        local kind = ARGV[3]
        local size = tonumber(ARGV[4])
        local slide = tonumber(ARGV[5])
        local pane = tonumber(ARGV[6])
        local ooo = tonumber(ARGV[7])
        local lateness = tonumber(ARGV[8])
        local agg = ARGV[9]
        local results = {}
        local resultCount = 0

        local function stateKeys(member)
            if string.sub(member, 1, 1) == '#' then
                local id = string.sub(member, 2)
                local b = redis.call('HGET', ns .. ':sb', id)
                if not b then return nil end
                local s, e, key = string.match(b, '^(%-?%d+):(%-?%d+):(.*)$')
                return tonumber(s), tonumber(e), key, { ns .. ':x:' .. id }, { ns .. ':xh:' .. id }
            end
            local s, e, key = string.match(member, '^(%-?%d+):(%-?%d+):(.*)$')
            s = tonumber(s)
            e = tonumber(e)
            local hashes, hlls = {}, {}
            local p = s
            while p < e do
                hashes[#hashes + 1] = ns .. ':s:' .. key .. ':' .. I(p)
                hlls[#hlls + 1] = ns .. ':h:' .. key .. ':' .. I(p)
                p = p + pane
            end
            return s, e, key, hashes, hlls
        end

        local function emit(member, firing, number)
            local s, e, key, hashes, hlls = stateKeys(member)
            if not s then return end
            local count, sum, best = 0, 0, nil
            local sumText, parts = nil, 0
            for _, h in ipairs(hashes) do
                local cv = redis.call('HMGET', h, 'c', 'v')
                local c, v = cv[1], cv[2]
                if c then
                    count = count + tonumber(c)
                    if agg == 'sum' or agg == 'avg' then
                        parts = parts + 1
                        sumText = v
                        sum = sum + tonumber(v)
                    elseif agg == 'min' or agg == 'max' then
                        if best == nil or (agg == 'min' and tonumber(v) < tonumber(best)) or (agg == 'max' and tonumber(v) > tonumber(best)) then best = v end
                    end
                end
            end
            if count == 0 then return end
            local value
            if agg == 'count' then value = I(count)
            elseif agg == 'sum' then
                if parts == 1 then value = sumText else value = string.format('%.17g', sum) end
            elseif agg == 'avg' then
                if parts == 1 then sum = tonumber(sumText) end
                value = string.format('%.17g', sum / count)
            elseif agg == 'distinct' then value = I(redis.call('PFCOUNT', unpack(hlls)))
            else value = best end
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

        local function dropSession(id, key)
            redis.call('DEL', ns .. ':x:' .. id, ns .. ':xh:' .. id)
            redis.call('ZREM', ns .. ':ss:' .. key, id)
            redis.call('HDEL', ns .. ':sb', id)
        end

        -- Tumbling windows are their own slice: the slice goes with its window (no purge set).
        local tumbling = kind == 't' and size == slide

        local function forget(member)
            if lateness > 0 then redis.call('HDEL', ns .. ':fn', member) end
            if tumbling then
                local s0, _, key = string.match(member, '^(%-?%d+):(%-?%d+):(.*)$')
                redis.call('DEL', ns .. ':s:' .. key .. ':' .. s0, ns .. ':h:' .. key .. ':' .. s0)
            elseif string.sub(member, 1, 1) == '#' then
                local id = string.sub(member, 2)
                local b = redis.call('HGET', ns .. ':sb', id)
                if b then
                    local _, _, key = string.match(b, '^(%-?%d+):(%-?%d+):(.*)$')
                    dropSession(id, key)
                end
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
                redis.call('DEL', ns .. ':s:' .. key .. ':' .. p, ns .. ':h:' .. key .. ':' .. p)
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
    /// was applied before (a redelivery) — each added to its window state or, when every window of
    /// it is late, copied to the late stream. Sliding and tumbling updates are summed per slice and written once per batch. Then the watermark advances and due
    /// windows fire. KEYS: stream. ARGV: ns, group, kind, size|gap, slide, pane, ooo, lateness, agg, fire limit, consumer,
    /// claim time (ms), n, mode;
    /// mode 'e': n × (id, key, ts, value); mode 'g' (sliding and tumbling, summed by the worker per key and slice): n ids,
    /// the group count, per group (key, slice, count, sum, best, count × entry index, [count × distinct value]), then
    /// the batch's largest timestamp; last, 'finish' or ''. Returns { windowed, late, duplicates, more (−1: finish
    /// refused: entries pending or not yet delivered; −2: mode 'g' refused, an entry was applied before), wm, results… (7 per result) }.
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

        local function addValue(hash, hll, value)
            if agg == 'sum' or agg == 'avg' then
                redis.call('HINCRBYFLOAT', hash, 'v', value)
            elseif agg == 'min' or agg == 'max' then
                local cur = redis.call('HGET', hash, 'v')
                if not cur or (agg == 'min' and tonumber(value) < tonumber(cur)) or (agg == 'max' and tonumber(value) > tonumber(cur)) then
                    redis.call('HSET', hash, 'v', value)
                end
            elseif agg == 'distinct' then
                redis.call('PFADD', hll, value)
            end
        end

        local function toLate(id)
            local json = eventOf(stream, id) or ''
            redis.call('XADD', ns .. ':late', '*', 'id', id, 'event', json)
            late = late + 1
        end

        -- Sliding and tumbling: events are summed per (key, slice) first; each slice is then updated once per batch.
        local slices, order = {}, {}
        local function addSliding(id, key, ts, value)
            local lastEnd = floorTo(ts, slide) + size
            if lastEnd - 1 + lateness <= wm then toLate(id) return end
            local p = floorTo(ts, pane)
            local sk = key .. '\0' .. I(p)
            local sl = slices[sk]
            if not sl then
                sl = { key = key, p = p, c = 0, sum = 0, best = nil, vals = {} }
                slices[sk] = sl
                order[#order + 1] = sk
            end
            sl.c = sl.c + 1
            if agg == 'sum' or agg == 'avg' then
                sl.sum = sl.sum + tonumber(value)
            elseif agg == 'min' or agg == 'max' then
                if sl.best == nil or (agg == 'min' and tonumber(value) < tonumber(sl.best)) or (agg == 'max' and tonumber(value) > tonumber(sl.best)) then sl.best = value end
            elseif agg == 'distinct' then
                sl.vals[#sl.vals + 1] = value
            end
            windowed = windowed + 1
        end

        local function flushSlices()
            local refired = {}
            for _, sk in ipairs(order) do
                local sl = slices[sk]
                local key, p = sl.key, sl.p
                local hash = ns .. ':s:' .. key .. ':' .. I(p)
                local c = redis.call('HINCRBY', hash, 'c', sl.c)
                if agg == 'sum' or agg == 'avg' then
                    redis.call('HINCRBYFLOAT', hash, 'v', sl.sumText or string.format('%.17g', sl.sum))
                elseif agg == 'min' or agg == 'max' then
                    addValue(hash, nil, sl.best)
                elseif agg == 'distinct' then
                    local hll = ns .. ':h:' .. key .. ':' .. I(p)
                    for i = 1, #sl.vals, 1000 do
                        redis.call('PFADD', hll, unpack(sl.vals, i, math.min(i + 999, #sl.vals)))
                    end
                end
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

        local function addSession(id, key, ts, value)
            local gap = size
            local sessions = ns .. ':ss:' .. key
            local sb = ns .. ':sb'
            local s, e = ts, ts + gap
            local merge = {}
            local cands = redis.call('ZREVRANGEBYSCORE', sessions, I(ts + gap), '-inf')
            for _, cid in ipairs(cands) do
                local b = redis.call('HGET', sb, cid)
                local cs, ce = string.match(b, '^(%-?%d+):(%-?%d+):')
                cs = tonumber(cs)
                ce = tonumber(ce)
                if ce < ts then break end
                merge[#merge + 1] = cid
                if cs < s then s = cs end
                if ce > e then e = ce end
            end
            if e - 1 + lateness <= wm then toLate(id) return end
            local target
            local firings = 0
            local wasFired = false
            local fn = ns .. ':fn'
            if #merge == 0 then
                target = I(redis.call('INCR', ns .. ':seq'))
            else
                target = merge[1]
                for _, cid in ipairs(merge) do
                    local f = tonumber(redis.call('HGET', fn, '#' .. cid)) or 0
                    if f > firings then firings = f end
                    if redis.call('ZSCORE', fired, '#' .. cid) then wasFired = true end
                end
                local tb = redis.call('HGET', sb, target)
                local ts0, te0 = string.match(tb, '^(%-?%d+):(%-?%d+):')
                -- A session that grew is a different window: it fires for its own end, its firing count carried on.
                if #merge > 1 or tonumber(ts0) ~= s or tonumber(te0) ~= e then wasFired = false end
                local th = ns .. ':x:' .. target
                for i = 2, #merge do
                    local cid = merge[i]
                    local oh = ns .. ':x:' .. cid
                    local o = redis.call('HMGET', oh, 'c', 'v')
                    if o[1] then
                        redis.call('HINCRBY', th, 'c', o[1])
                        if o[2] then addValue(th, nil, o[2]) end
                    end
                    if agg == 'distinct' then
                        redis.call('PFMERGE', ns .. ':xh:' .. target, ns .. ':xh:' .. target, ns .. ':xh:' .. cid)
                    end
                    redis.call('ZREM', open, '#' .. cid)
                    redis.call('ZREM', fired, '#' .. cid)
                    redis.call('HDEL', fn, '#' .. cid)
                    local b = redis.call('HGET', sb, cid)
                    local _, _, okey = string.match(b, '^(%-?%d+):(%-?%d+):(.*)$')
                    dropSession(cid, okey)
                end
            end
            redis.call('HSET', sb, target, I(s) .. ':' .. I(e) .. ':' .. key)
            redis.call('ZADD', sessions, s, target)
            local th = ns .. ':x:' .. target
            redis.call('HINCRBY', th, 'c', 1)
            addValue(th, ns .. ':xh:' .. target, value)
            local member = '#' .. target
            if e - 1 <= wm then
                -- Due already (behind the watermark, within the lateness): fires at once.
                firings = firings + 1
                redis.call('HSET', fn, member, firings)
                redis.call('ZREM', open, member)
                redis.call('ZADD', fired, e - 1 + lateness, member)
                local label = '2'
                if firings == 1 then label = '1' end
                emit(member, label, I(firings))
            else
                redis.call('ZREM', fired, member)
                redis.call('ZADD', open, e - 1, member)
                if firings > 0 then redis.call('HSET', fn, member, firings) end
            end
            windowed = windowed + 1
        end

        local finish
        if mode == 'g' then
            -- Grouped (sliding and tumbling): the worker summed the batch per (key, slice). It applies only when every
            -- entry is still pending; otherwise nothing is changed and the worker sends the entries one by one.
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
                local sumText, best = ARGV[pos + 3], ARGV[pos + 4]
                local idx = pos + 5
                pos = idx + c
                local vals = pos
                if agg == 'distinct' then pos = pos + c end
                if floorTo(p, slide) + size - 1 + lateness <= wm then
                    for j = 0, c - 1 do toLate(ARGV[14 + tonumber(ARGV[idx + j])]) end
                else
                    local sk = key .. '\0' .. pText
                    local sl = slices[sk]
                    if sl then
                        sl.c = sl.c + c
                    else
                        sl = { key = key, p = p, c = c, sum = 0, sumText = sumText, best = best, vals = {} }
                        slices[sk] = sl
                        order[#order + 1] = sk
                    end
                    if agg == 'distinct' then
                        for j = 0, c - 1 do sl.vals[#sl.vals + 1] = ARGV[vals + j] end
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
            -- One by one: only entries still pending are applied (and acknowledged); one already acknowledged was
            -- applied before (a redelivery).
            for i = 0, n - 1 do
                -- One by one is the rare path (a batch with a redelivered entry): XACK returns 1 only the first time.
                local base = 15 + i * 4
                local id = ARGV[base]
                if redis.call('XACK', stream, group, id) == 1 then
                    local key = ARGV[base + 1]
                    local ts = tonumber(ARGV[base + 2])
                    if kind == 's' then addSession(id, key, ts, ARGV[base + 3]) else addSliding(id, key, ts, ARGV[base + 3]) end
                    if not maxts or ts > maxts then maxts = ts end
                else
                    dup = dup + 1
                end
            end
            finish = ARGV[15 + n * 4]
        end
        if kind ~= 's' then flushSlices() end
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
        if moved > 0 then redis.call('HINCRBY', ns .. ':metrics', 'deadLettered', moved) end
        return moved
        """;

    /// <summary>
    /// Replays one dead letter: only if it is still in the dead-letter stream (<c>XDEL</c> returned 1) is its event added
    /// back to the input. KEYS: stream. ARGV: ns, dead-letter id. Returns the new entry id, or false.
    /// </summary>
    public const string Replay = EventOf + """
        local ns = ARGV[1]
        local dead = ns .. ':dead'
        local json = eventOf(dead, ARGV[2])
        if not json then return false end
        if redis.call('XDEL', dead, ARGV[2]) ~= 1 then return false end
        local id = redis.call('XADD', KEYS[1], '*', 'event', json)
        redis.call('HINCRBY', ns .. ':metrics', 'replayed', 1)
        return id
        """;

    /// <summary>Events applied in the last 10 whole seconds of the server clock. KEYS: stream (routing). ARGV: ns.</summary>
    public const string Throughput = """
        local now = tonumber(redis.call('TIME')[1])
        local total = 0
        for i = 1, 10 do
            total = total + (tonumber(redis.call('GET', ARGV[1] .. ':tp:' .. string.format('%d', now - i))) or 0)
        end
        return total
        """;
}
