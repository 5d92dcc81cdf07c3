namespace EventStream.Windowing;

/// <summary>
/// Event-time timers grouped by (time, order): window ends fall on multiples of the slide, so many keys share a time,
/// and the heap orders only the distinct times — a timer costs a list append instead of a heap insert and removal.
/// Within one (time, order) timers run in the order they were added.
/// </summary>
internal sealed class TimerBuckets<TTimer>
{
    private readonly PriorityQueue<(long Time, int Order), (long Time, int Order)> _heap = new();
    private readonly Dictionary<(long Time, int Order), List<TTimer>> _buckets = [];
    private readonly Stack<List<TTimer>> _spare = new();

    public void Enqueue(TTimer timer, long time, int order)
    {
        var at = (time, order);
        if (!_buckets.TryGetValue(at, out var bucket))
        {
            bucket = _spare.Count > 0 ? _spare.Pop() : [];
            _buckets.Add(at, bucket);
            _heap.Enqueue(at, at);
        }

        bucket.Add(timer);
    }

    /// <summary>Takes the earliest bucket due at or before <paramref name="watermark"/>; give it back with <see cref="Return"/>.</summary>
    public bool TryTakeDue(long watermark, out List<TTimer> bucket)
    {
        if (_heap.TryPeek(out var at, out _) && at.Time <= watermark)
        {
            _heap.Dequeue();
            _buckets.Remove(at, out bucket!);
            return true;
        }

        bucket = null!;
        return false;
    }

    public void Return(List<TTimer> bucket)
    {
        bucket.Clear();
        if (_spare.Count < 64)
        {
            _spare.Push(bucket);
        }
    }
}
