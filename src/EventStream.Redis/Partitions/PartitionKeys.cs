using System.Globalization;
using System.IO.Hashing;
using System.Text;
using StackExchange.Redis;

namespace EventStream.Redis.Partitions;

/// <summary>
/// The key layout of one partitioned computation (an input stream and a group name). Each partition's keys share a
/// hash tag of their own, <c>prefix:{stream|group|p07}:…</c>, so its commit script touches one cluster slot and a
/// Redis Cluster spreads the partitions over its nodes; the computation's own keys (its definition and its members)
/// share the tag <c>{stream|group}</c>. Braces and '%' in the stream or group are percent-encoded inside the tag.
/// </summary>
internal sealed class PartitionKeys
{
    private readonly string _prefix;
    private readonly string _tag;
    private readonly RedisKey[] _cursor;
    private readonly RedisKey[] _state;
    private readonly RedisKey[] _results;
    private readonly RedisKey[] _late;
    private readonly RedisKey[] _dead;

    public PartitionKeys(string prefix, string stream, string group, int partitions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        _prefix = prefix;
        Stream = stream;
        Partitions = partitions;
        _tag = Escape(stream) + "|" + Escape(group);
        _cursor = new RedisKey[partitions];
        _state = new RedisKey[partitions];
        _results = new RedisKey[partitions];
        _late = new RedisKey[partitions];
        _dead = new RedisKey[partitions];
        for (var p = 0; p < partitions; p++)
        {
            var ns = $"{prefix}:{{{_tag}|p{p.ToString("D2", CultureInfo.InvariantCulture)}}}:";
            _cursor[p] = ns + "cursor";
            _state[p] = ns + "state";
            _results[p] = ns + "results";
            _late[p] = ns + "late";
            _dead[p] = ns + "dead";
        }
    }

    /// <summary>Gets the input stream.</summary>
    public RedisKey Stream { get; }

    /// <summary>Gets the number of partitions.</summary>
    public int Partitions { get; }

    /// <summary>Gets the key of the computation's stored definition (partition count, window, aggregate, key type).</summary>
    public RedisKey Definition => $"{_prefix}:{{{_tag}}}:definition";

    /// <summary>
    /// Gets the key of the stream's readers: a hash shared by every partitioned computation on the stream, whatever its
    /// prefix or group, of each one's lowest committed position, so none trims the input below what another needs.
    /// </summary>
    public RedisKey Readers => $"eventstream:readers:{{{Escape(Stream!)}}}";

    /// <summary>Gets this computation's field in <see cref="Readers"/>.</summary>
    public string Reader => $"{_prefix}|{_tag}";

    /// <summary>Gets the key of the computation's members: a sorted set of worker names scored by their heartbeat's expiry.</summary>
    public RedisKey Members => $"{_prefix}:{{{_tag}}}:members";

    /// <summary>The partition's cursor hash: lease (owner, epoch, until), position, clock, counts, last commit time.</summary>
    public RedisKey Cursor(int partition) => _cursor[partition];

    /// <summary>The partition's window state hash: one field per slice, block, window firing record or session.</summary>
    public RedisKey State(int partition) => _state[partition];

    /// <summary>The partition's committed results stream (the outbox).</summary>
    public RedisKey Results(int partition) => _results[partition];

    /// <summary>The partition's late events stream.</summary>
    public RedisKey Late(int partition) => _late[partition];

    /// <summary>The partition's dead letters stream.</summary>
    public RedisKey Dead(int partition) => _dead[partition];

    /// <summary>The staging keys of one large commit (state set, removed fields, results, late events, dead letters), in the partition's slot.</summary>
    public RedisKey[] Staging(int partition, long epoch, long sequence)
    {
        var ns = _cursor[partition].ToString()[..^"cursor".Length] + $"stage:{epoch}:{sequence}:";
        return [ns + "set", ns + "del", ns + "results", ns + "late", ns + "dead"];
    }

    /// <summary>The partition of a key, from the bytes its codec writes: XxHash64 (seed 0) modulo the partition count, the same in every process.</summary>
    public static int PartitionOf(ReadOnlySpan<byte> key, int partitions) => (int)(XxHash64.HashToUInt64(key) % (ulong)partitions);

    private static string Escape(string value) =>
        new StringBuilder(value).Replace("%", "%25").Replace("{", "%7B").Replace("}", "%7D").ToString();
}
