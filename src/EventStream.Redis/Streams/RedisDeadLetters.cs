using EventStream.Redis.Streams;
using System.Globalization;
using StackExchange.Redis;

namespace EventStream.Redis;

/// <summary>
/// The dead-letter stream of an input stream and consumer group (<c>prefix:{stream}:group:dead</c>, or <c>prefix:{tag}:stream:group:dead</c> for a stream key with a hash tag): entries that could not
/// be read or were delivered too often, with stage, error, attempts and time. Listing, counting and replaying work from
/// any process. A replay is one script gated on the dead letter still being there: the event goes back to the input
/// and leaves the dead-letter stream together, so a replaying process that dies mid-way neither loses nor duplicates.
/// </summary>
public sealed class RedisDeadLetters
{
    private readonly IDatabase _db;
    private readonly RedisKey _input;
    private readonly string _ns;

    internal RedisDeadLetters(IConnectionMultiplexer redis, string input, string ns)
    {
        _db = redis.GetDatabase();
        _input = input;
        _ns = ns;
        Key = ns + ":dead";
    }

    /// <summary>Gets the dead-letter stream's key.</summary>
    public string Key { get; }

    /// <summary>Counts the dead letters.</summary>
    /// <returns>The number of entries in the dead-letter stream.</returns>
    public Task<long> CountAsync() => _db.StreamLengthAsync(Key);

    /// <summary>Lists dead letters, oldest first.</summary>
    /// <param name="limit">At most this many.</param>
    /// <returns>The dead letters.</returns>
    public async Task<IReadOnlyList<RedisDeadLetter>> ListAsync(int limit = 100)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var entries = await _db.StreamRangeAsync(Key, "-", "+", limit).ConfigureAwait(false);
        return entries.Select(e =>
        {
            string Field(string name) => e.Values.FirstOrDefault(v => v.Name == name).Value.ToString();
            _ = int.TryParse(Field("attempts"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var attempts);
            _ = long.TryParse(Field("failed"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var failed);
            return new RedisDeadLetter(e.Id.ToString(), Field("id"), Field("event"), Field("stage"), Field("error"), attempts, DateTimeOffset.FromUnixTimeMilliseconds(failed));
        }).ToList();
    }

    /// <summary>Moves one dead letter back to the input stream (a new entry with the same event JSON).</summary>
    /// <param name="id">The dead letter's id.</param>
    /// <returns><see langword="true"/> if it was replayed; <see langword="false"/> if it is no longer there (replayed already).</returns>
    public async Task<bool> ReplayAsync(string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        var reply = await _db.ScriptEvaluateAsync(StreamScripts.Replay, [_input], [_ns, id]).ConfigureAwait(false);
        return !reply.IsNull && reply.Resp2Type != ResultType.Integer;
    }

    /// <summary>Replays every dead letter present when the call starts, oldest first.</summary>
    /// <returns>How many were replayed.</returns>
    public async Task<long> ReplayAllAsync()
    {
        // Up to the newest dead letter now: one replayed and dead-lettered again meanwhile waits for the next call.
        var newest = await _db.StreamRangeAsync(Key, "-", "+", 1, Order.Descending).ConfigureAwait(false);
        if (newest.Length == 0)
        {
            return 0;
        }

        long replayed = 0;
        var from = "-";
        while (true)
        {
            var batch = await _db.StreamRangeAsync(Key, from, newest[0].Id, 500).ConfigureAwait(false);
            if (batch.Length == 0)
            {
                return replayed;
            }

            foreach (var entry in batch)
            {
                if (await ReplayAsync(entry.Id.ToString()).ConfigureAwait(false))
                {
                    replayed++;
                }
            }

            from = "(" + batch[^1].Id;
        }
    }
}
