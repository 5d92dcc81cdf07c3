using StackExchange.Redis;

namespace EventStream.Redis.Streams;

/// <summary>
/// What a consumer of a stream (<see cref="RedisStreamSource{T}"/>) does with its group: create the group, move entries
/// to the dead-letter stream (<see cref="StreamScripts.DeadLetter"/>, one script gated on <c>XACK</c>), and find entries
/// idle past the claim time, dead-lettering those delivered too often.
/// </summary>
internal sealed class ConsumerGroup(IDatabase db, string stream, string group, string ns, string stage, TimeProvider time)
{
    /// <summary>An entry to dead-letter: its id, why, and how often it was delivered.</summary>
    public readonly record struct Failure(string Id, string Error, int Deliveries);

    /// <summary>Creates the group from the start of the stream (and the stream) unless another consumer already did.</summary>
    public Task EnsureCreatedAsync() => EnsureCreatedAsync(db, stream, group);

    /// <summary>Creates a group from the start of the stream (and the stream) unless it exists: what every consumer, and a producer that watches the group's lag, does first.</summary>
    public static async Task EnsureCreatedAsync(IDatabase db, RedisKey stream, string group)
    {
        try
        {
            await db.StreamCreateConsumerGroupAsync(stream, group, "0", createStream: true).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // Another consumer created it.
        }
    }

    /// <summary>Moves entries to the dead-letter stream; each only if it is still pending (safe to run twice).</summary>
    /// <returns>How many were moved.</returns>
    public async Task<long> DeadLetterAsync(IEnumerable<Failure> failures)
    {
        var args = new List<RedisValue> { ns, group, stage, time.GetUtcNow().ToUnixTimeMilliseconds() };
        foreach (var failure in failures)
        {
            args.Add(failure.Id);
            args.Add(failure.Error);
            args.Add(failure.Deliveries);
        }

        return args.Count == 4 ? 0 : (long)await db.ScriptEvaluateAsync(StreamScripts.DeadLetter, [stream], [.. args]).ConfigureAwait(false);
    }

    /// <summary>
    /// Looks at up to <paramref name="count"/> entries idle for <paramref name="claimIdle"/>: those delivered
    /// <paramref name="maxDeliveries"/> times go to the dead-letter stream.
    /// </summary>
    /// <returns>How many were dead-lettered, and whether other idle entries are left to claim.</returns>
    public async Task<(long DeadLettered, bool ClaimableLeft)> DeadLetterPoisonAsync(TimeSpan claimIdle, int count, int maxDeliveries)
    {
        var stale = await db.StreamPendingMessagesAsync(stream, group, count, RedisValue.Null, minIdleTimeInMs: (long)claimIdle.TotalMilliseconds).ConfigureAwait(false);
        var poison = stale.Where(p => p.DeliveryCount >= maxDeliveries)
            .Select(p => new Failure(p.MessageId.ToString(), $"delivered {p.DeliveryCount} times without being acknowledged (the limit is {maxDeliveries})", p.DeliveryCount))
            .ToList();
        return (await DeadLetterAsync(poison).ConfigureAwait(false), stale.Length > poison.Count);
    }

    /// <summary>
    /// Claims up to <paramref name="count"/> entries idle for <paramref name="claimIdle"/> for <paramref name="consumer"/>
    /// (XAUTOCLAIM), and dead-letters those the claim took past <paramref name="maxDeliveries"/>: an entry can pass its
    /// idle time between <see cref="DeadLetterPoisonAsync"/> and the claim, so the claimed entries' delivery counts are
    /// read back (XPENDING per claimed entry, in one round trip) before any is handed on.
    /// </summary>
    /// <returns>The entries to process, and how many were dead-lettered instead.</returns>
    public async Task<(StreamEntry[] Entries, long DeadLettered)> ClaimAsync(string consumer, TimeSpan claimIdle, int count, int maxDeliveries)
    {
        var claimed = await db.StreamAutoClaimAsync(stream, group, consumer, (long)claimIdle.TotalMilliseconds, "0-0", count).ConfigureAwait(false);
        var entries = claimed.ClaimedEntries.Where(e => !e.IsNull).ToArray();
        if (entries.Length == 0)
        {
            return (entries, 0);
        }

        // One XPENDING per claimed entry (its id as both ends of the range), sent together: one round trip.
        var lookups = entries.Select(e => db.StreamPendingMessagesAsync(stream, group, 1, consumer, e.Id, e.Id)).ToArray();
        var pending = await Task.WhenAll(lookups).ConfigureAwait(false);
        var over = pending.SelectMany(p => p).Where(p => p.DeliveryCount > maxDeliveries)
            .ToDictionary(p => (string)p.MessageId!, p => p.DeliveryCount, StringComparer.Ordinal);
        if (over.Count == 0)
        {
            return (entries, 0);
        }

        var failures = over.Select(o => new Failure(o.Key, $"delivered {o.Value - 1} times without being acknowledged (the limit is {maxDeliveries})", o.Value - 1));
        var deadLettered = await DeadLetterAsync(failures).ConfigureAwait(false);
        return (entries.Where(e => !over.ContainsKey((string)e.Id!)).ToArray(), deadLettered);
    }
}
