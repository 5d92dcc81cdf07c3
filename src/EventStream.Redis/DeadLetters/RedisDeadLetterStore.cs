using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace EventStream.Redis;

/// <summary>
/// A dead-letter store in Redis, shared by every process that uses the same key prefix: entries survive restarts and
/// can be listed, counted and replayed from any process. Each entry is a hash; per-store and per-pipeline sorted sets
/// keep insertion order. Adding, replacing and removing are single Lua scripts, so a crash never leaves an entry half
/// recorded. Events are stored as JSON with their type name.
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
            Event = payload,
        };
    }

    private static string? NullIfEmpty(RedisValue value) => value.IsNullOrEmpty ? null : value.ToString();
}
