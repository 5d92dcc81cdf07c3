using System.Globalization;
using EventStream.DeadLetters;
using System.Text.Json;
using StackExchange.Redis;

namespace EventStream.Redis;

/// <summary>
/// A dead-letter store in Redis, shared by every process that uses the same key prefix: entries survive restarts and
/// can be listed, counted and replayed from any process. Each entry is a hash; per-store and per-pipeline sorted sets
/// keep insertion order. Adding, replacing and removing are single Lua scripts, so a crash never leaves an entry half
/// recorded; discarding runs scripts of at most 1,000 entries each (each atomic, the whole call not). Events are stored
/// as JSON with their type name.
/// </summary>
public sealed class RedisDeadLetterStore : IDeadLetterStore
{
    private const string AddScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        local seq = redis.call('INCR', KEYS[2])
        redis.call('HSET', KEYS[1], unpack(ARGV, 3))
        redis.call('HSET', KEYS[1], 'seq', seq)
        redis.call('ZADD', KEYS[3], seq, ARGV[1])
        redis.call('ZADD', KEYS[4], seq, ARGV[1])
        return 1
        """;

    private const string ReplaceScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then
            local seq = redis.call('INCR', KEYS[2])
            redis.call('HSET', KEYS[1], 'seq', seq)
            redis.call('ZADD', KEYS[3], seq, ARGV[1])
            redis.call('ZADD', KEYS[4], seq, ARGV[1])
        end
        redis.call('HSET', KEYS[1], unpack(ARGV, 3))
        return 1
        """;

    private const string RemoveScript = """
        local pipeline = redis.call('HGET', KEYS[1], 'pipeline')
        if not pipeline then return 0 end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('ZREM', ARGV[2] .. pipeline, ARGV[1])
        return 1
        """;

    // Discards the entries among candidates that are in scope and match: by ids (ARGV[7..]), or a page of the scope's
    // index after the sequence number ARGV[7] (ARGV[8] entries). Returns the count and the page's last sequence number
    // ('' when the page was empty or ids were given).
    private const string DiscardScript = """
        local function discard(id)
            local key = ARGV[1] .. id
            local f = redis.call('HMGET', key, 'pipeline', 'reason', 'lastFailure')
            if not f[1] then return 0 end
            if ARGV[3] ~= '' and f[1] ~= ARGV[3] then return 0 end
            if ARGV[4] ~= '' and f[2] ~= ARGV[4] then return 0 end
            if ARGV[5] ~= '' and tonumber(f[3]) >= tonumber(ARGV[5]) then return 0 end
            redis.call('DEL', key)
            redis.call('ZREM', KEYS[1], id)
            redis.call('ZREM', ARGV[2] .. f[1], id)
            return 1
        end
        local n = 0
        if ARGV[6] == 'ids' then
            for i = 7, #ARGV do n = n + discard(ARGV[i]) end
            return {n, ''}
        end
        local page = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[7], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[8]))
        local last = ''
        for i = 1, #page, 2 do
            n = n + discard(page[i])
            last = page[i + 1]
        end
        return {n, last}
        """;

    // Entries one discard script looks at: each script is atomic and blocks Redis while it runs, so it stays short.
    private const int DiscardPage = 1000;

    private readonly IDatabase _db;
    private readonly string _prefix;
    private readonly RedisDeadLetterStoreOptions _options;
    private readonly JsonSerializerOptions _json;

    /// <summary>Creates a store on a connection.</summary>
    /// <param name="redis">The connection (one long-lived multiplexer per process).</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    public RedisDeadLetterStore(IConnectionMultiplexer redis, RedisDeadLetterStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        _options = options ?? new RedisDeadLetterStoreOptions();
        if (string.IsNullOrWhiteSpace(_options.KeyPrefix) || _options.KeyPrefix.Contains('{', StringComparison.Ordinal) || _options.KeyPrefix.Contains('}', StringComparison.Ordinal))
        {
            throw new ArgumentException($"RedisDeadLetterStoreOptions.KeyPrefix must be non-empty and contain no braces (was '{_options.KeyPrefix}').", nameof(options));
        }

        _db = redis.GetDatabase();
        _prefix = "{" + _options.KeyPrefix + "}:dlq:";
        _json = _options.Json ?? RedisJson.Default;
    }

    /// <inheritdoc />
    /// <remarks>This store has no capacity: it is never full (size Redis with <c>maxmemory-policy noeviction</c>).</remarks>
    public bool IsFull => false;

    /// <inheritdoc />
    public async ValueTask AddAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var added = (long)await _db.ScriptEvaluateAsync(AddScript, Keys(entry), Args(entry)).ConfigureAwait(false);
        if (added == 0)
        {
            throw new InvalidOperationException($"A dead letter with id '{entry.Id}' is already recorded.");
        }
    }

    /// <inheritdoc />
    public async ValueTask ReplaceAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _db.ScriptEvaluateAsync(ReplaceScript, Keys(entry), Args(entry)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<DeadLetterEntry>> ListAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            return [];
        }

        var ids = await _db.SortedSetRangeByRankAsync(IndexKey(pipeline), 0, limit - 1).ConfigureAwait(false);
        return await ReadAllAsync(ids).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>The cursor is an entry's sequence number in the store's index: a page starts after it, whatever left the store meanwhile.</remarks>
    public async ValueTask<DeadLetterListPage> ListPageAsync(string? pipeline, int limit, string? after, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var from = DeadLetterPaging.Position(after);
        var scored = await _db.SortedSetRangeByScoreWithScoresAsync(IndexKey(pipeline), from, double.PositiveInfinity, Exclude.Start, Order.Ascending, 0, limit + 1L).ConfigureAwait(false);
        var page = scored.Take(limit).ToArray();
        var entries = await ReadAllAsync([.. page.Select(s => s.Element)]).ConfigureAwait(false);
        return new DeadLetterListPage(entries, scored.Length > limit ? DeadLetterPaging.Cursor((long)page[^1].Score) : null);
    }

    /// <summary>The entries of these ids, in order (an id removed meanwhile is left out).</summary>
    private async Task<IReadOnlyList<DeadLetterEntry>> ReadAllAsync(RedisValue[] ids)
    {
        // One round trip for all the hashes: issue every read, then await them.
        var reads = ids.Select(id => _db.HashGetAllAsync(EntryKey(id!))).ToArray();
        var entries = new List<DeadLetterEntry>(ids.Length);
        for (var i = 0; i < reads.Length; i++)
        {
            var fields = await reads[i].ConfigureAwait(false);
            if (fields.Length != 0)
            {
                entries.Add(Read(fields.ToDictionary(f => f.Name.ToString(), f => f.Value, StringComparer.Ordinal)));
            }
        }

        return entries;
    }

    /// <inheritdoc />
    public async ValueTask<long> CountAsync(string? pipeline = null, CancellationToken cancellationToken = default) =>
        await _db.SortedSetLengthAsync(IndexKey(pipeline)).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<bool> RemoveAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var removed = (long)await _db.ScriptEvaluateAsync(RemoveScript, [EntryKey(id), IndexKey(null)], [id, _prefix + "pipeline:"]).ConfigureAwait(false);
        return removed == 1;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Discards in place, in Lua scripts of at most 1,000 entries each (each one atomic: an entry is wholly discarded or
    /// kept; the whole call is not one step). <see cref="DeadLetterDiscard.OlderThan"/> is compared at the millisecond,
    /// the precision entries are stored at. The token is observed before the first script only.
    /// </remarks>
    public async ValueTask<long> DiscardAsync(string? pipeline, DeadLetterDiscard filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        filter.ThrowIfEmpty();
        cancellationToken.ThrowIfCancellationRequested();
        RedisKey[] keys = [IndexKey(null), IndexKey(pipeline)];
        RedisValue[] common =
        [
            _prefix + "entry:",
            _prefix + "pipeline:",
            pipeline ?? string.Empty,
            filter.Reason?.ToString() ?? string.Empty,
            filter.OlderThan is { } olderThan ? CeilingMilliseconds(olderThan) : string.Empty,
        ];

        long discarded = 0;
        if (filter.Ids is { } ids)
        {
            foreach (var chunk in ids.Distinct(StringComparer.Ordinal).Chunk(DiscardPage))
            {
                RedisValue[] args = [.. common, "ids", .. chunk.Select(id => (RedisValue)id)];
                var result = (RedisResult[])(await _db.ScriptEvaluateAsync(DiscardScript, keys, args).ConfigureAwait(false))!;
                discarded += (long)result[0];
            }

            return discarded;
        }

        RedisValue after = "-inf";
        while (true)
        {
            RedisValue[] args = [.. common, "scan", after, DiscardPage];
            var result = (RedisResult[])(await _db.ScriptEvaluateAsync(DiscardScript, keys, args).ConfigureAwait(false))!;
            discarded += (long)result[0];
            var last = (string?)result[1];
            if (string.IsNullOrEmpty(last))
            {
                return discarded;
            }

            after = last;
        }
    }

    private static long CeilingMilliseconds(DateTimeOffset time)
    {
        var ms = time.ToUnixTimeMilliseconds();
        return time.UtcTicks % TimeSpan.TicksPerMillisecond == 0 ? ms : ms + 1;
    }

    private RedisKey EntryKey(string id) => _prefix + "entry:" + id;

    private RedisKey IndexKey(string? pipeline) => pipeline is null ? _prefix + "all" : _prefix + "pipeline:" + pipeline;

    private RedisKey[] Keys(DeadLetterEntry entry) => [EntryKey(entry.Id), _prefix + "seq", IndexKey(null), IndexKey(entry.Pipeline)];

    private RedisValue[] Args(DeadLetterEntry entry)
    {
        var type = entry.Event?.GetType();
        return
        [
            entry.Id,
            entry.Pipeline,
            "id", entry.Id,
            "pipeline", entry.Pipeline,
            "stage", entry.Stage,
            "reason", entry.Reason.ToString(),
            "exceptionType", entry.ExceptionType ?? string.Empty,
            "message", entry.Message ?? string.Empty,
            "attempts", entry.Attempts,
            "replays", entry.Replays,
            "firstFailure", entry.FirstFailure.ToUnixTimeMilliseconds(),
            "lastFailure", entry.LastFailure.ToUnixTimeMilliseconds(),
            "traceParent", entry.TraceParent ?? string.Empty,
            "eventType", type?.AssemblyQualifiedName ?? string.Empty,
            "event", entry.Event is null ? string.Empty : JsonSerializer.Serialize(entry.Event, type!, _json),
        ];
    }

    private DeadLetterEntry Read(Dictionary<string, RedisValue> f)
    {
        object? payload = null;
        var json = (string?)f.GetValueOrDefault("event");
        if (!string.IsNullOrEmpty(json))
        {
            var typeName = (string?)f.GetValueOrDefault("eventType") ?? string.Empty;
            var type = typeName.Length == 0 ? null : (_options.ResolveType ?? (static n => Type.GetType(n, throwOnError: false)))(typeName);
            payload = type is null ? JsonDocument.Parse(json).RootElement.Clone() : JsonSerializer.Deserialize(json, type, _json);
        }

        return new DeadLetterEntry
        {
            Id = (string)f["id"]!,
            Pipeline = (string)f["pipeline"]!,
            Stage = (string)f["stage"]!,
            Reason = Enum.Parse<DeadLetterReason>((string)f["reason"]!),
            ExceptionType = NullIfEmpty(f.GetValueOrDefault("exceptionType")),
            Message = NullIfEmpty(f.GetValueOrDefault("message")),
            Attempts = (int)f["attempts"],
            Replays = (int)f["replays"],
            FirstFailure = DateTimeOffset.FromUnixTimeMilliseconds((long)f["firstFailure"]),
            LastFailure = DateTimeOffset.FromUnixTimeMilliseconds((long)f["lastFailure"]),
            TraceParent = NullIfEmpty(f.GetValueOrDefault("traceParent")),
            Event = payload,
        };
    }

    private static string? NullIfEmpty(RedisValue value) => value.IsNullOrEmpty ? null : value.ToString();
}
