using EventStream.Metrics;
using EventStream.Retry;

namespace EventStream;

/// <summary>
/// A deduplicate stage: drops an event whose id was seen within the horizon of event time (counted as a duplicate),
/// passes the others on, and forgets ids that fall behind the newest event time by more than the horizon.
/// </summary>
internal sealed class DeduplicateOperator<T> : StageOperator<T, T>
{
    private readonly Func<T, string?> _id;
    private readonly Func<T, DateTimeOffset> _timestamp;
    private readonly long _horizon;

    // Each id with the event time it was last seen at; the heap holds (id, time) pairs to forget, oldest first (a pair
    // whose id was seen again since is stale and skipped).
    private readonly Dictionary<string, long> _seen = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, long> _expiry = new();
    private long _newest = long.MinValue;

    public DeduplicateOperator(StageRuntime stage, Operator<T> next, Func<T, string?> id, Func<T, DateTimeOffset> timestamp, long horizon)
        : base(stage, next)
    {
        _id = id;
        _timestamp = timestamp;
        _horizon = horizon;
    }

    /// <summary>The ids held (for tests: the state stays bounded by the horizon).</summary>
    internal int Held => _seen.Count;

    public override ValueTask ProcessAsync(T item, RetryState? state)
    {
        string id;
        long time;
        try
        {
            id = _id(item) ?? throw new FormatException($"Stage '{Stage.Name}': the event has no id (the id selector returned null).");
            time = _timestamp(item).ToUnixTimeMilliseconds();
        }
        catch (Exception ex)
        {
            return Stage.FailAsync(this, item, ex, state);
        }

        if (_seen.TryGetValue(id, out var seenAt) && Math.Abs(time - seenAt) <= _horizon)
        {
            Counts.Add(PipelineCount.Duplicates);
            state?.Ticket?.Succeeded();
            return default;
        }

        _seen[id] = time;
        _expiry.Enqueue(id, time);
        if (time > _newest)
        {
            _newest = time;
            Forget(_newest - _horizon);
        }

        state?.Ticket?.Succeeded();
        return Next.ProcessAsync(item, null);
    }

    /// <summary>Forgets the ids last seen before <paramref name="watermark"/>.</summary>
    private void Forget(long watermark)
    {
        while (_expiry.TryPeek(out var id, out var at) && at < watermark)
        {
            _expiry.Dequeue();
            if (_seen.TryGetValue(id, out var last) && last == at)
            {
                _seen.Remove(id);
            }
        }
    }
}
