using System.Buffers;
using EventStream.Windowing.State;

namespace EventStream;

/// <summary>
/// A Space-Saving heavy-hitters summary (Metwally, Agrawal and El Abbadi, 2005) of at most <see cref="Capacity"/>
/// items, mergeable as in Agarwal et al., "Mergeable summaries" (2012): the accumulator of
/// <see cref="Aggregates.TopK{T, TItem}(int, Func{T, TItem}, int?)"/>.
/// <para>
/// Each monitored item has a count that is never below its true count (or total weight) and an error: how far above it
/// may be. Every error is at most <see cref="ErrorBound"/>, which is at most <see cref="Total"/> / <see cref="Capacity"/>,
/// and an item not monitored occurred at most <see cref="ErrorBound"/> times. While no more than <see cref="Capacity"/>
/// distinct items were added the summary is exact (<see cref="ErrorBound"/> 0). Merging keeps all of this: counts of an
/// item in both summaries add, an item in one only is charged the other's <see cref="ErrorBound"/> (as count and error),
/// and the <see cref="Capacity"/> largest are kept — once the union passes twice the capacity, or before the next add
/// (a k-way merge, with the same bound as cutting after every merge): a summary holds at most 2 × <see cref="Capacity"/> items.
/// </para>
/// <para>
/// Ties are broken by a 64-bit hash of the item that is the same in every process (the one
/// <see cref="DistinctCounter"/> uses), so what is kept and reported depends only on what was added and merged, not on
/// the order: a summary restored by another worker goes on exactly as the original.
/// </para>
/// </summary>
/// <typeparam name="TItem">The item type: compared with its default equality.</typeparam>
public sealed class TopKSummary<TItem>
    where TItem : notnull
{
    // The monitored items in slots 0.._count-1, found by item through _index; a min-heap of slots by (count, hash) is
    // kept from the first eviction on (rebuilt lazily after a merge). Structs in arrays: a merge allocates nothing per item.
    private Dictionary<TItem, int> _index = [];
    private Entry[] _entries = [];
    private int _count;
    private int[]? _heap;
    private bool _heapValid;
    private int _mergeStamp;

    /// <summary>Creates an empty summary.</summary>
    /// <param name="capacity">How many items it monitors (at least 1).</param>
    public TopKSummary(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    /// <summary>Gets how many items the summary monitors at most.</summary>
    public int Capacity { get; }

    /// <summary>Gets the total count (or weight) added.</summary>
    public long Total { get; private set; }

    /// <summary>
    /// Gets the largest amount by which any count may exceed the true one, and the most an item that is not monitored
    /// can have occurred: 0 while exact, never more than <see cref="Total"/> / <see cref="Capacity"/>.
    /// </summary>
    public long ErrorBound { get; private set; }

    /// <summary>Gets whether every count is exact (no more distinct items than <see cref="Capacity"/> were added).</summary>
    public bool IsExact => ErrorBound == 0;

    /// <summary>Gets how many items are monitored.</summary>
    public int Count => _count;

    /// <summary>Adds an occurrence of an item.</summary>
    /// <param name="item">The item.</param>
    public void Add(TItem item) => Add(item, 1);

    /// <summary>Adds an item with a weight (an occurrence counted <paramref name="weight"/> times; 0 adds nothing).</summary>
    /// <param name="item">The item.</param>
    /// <param name="weight">The weight, not negative.</param>
    public void Add(TItem item, long weight)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (weight <= 0)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(weight);
            return;
        }

        Total = checked(Total + weight);
        if (_index.TryGetValue(item, out var slot))
        {
            ref var entry = ref _entries[slot];
            entry.Count += weight;
            if (_heapValid)
            {
                SiftDown(entry.HeapPosition);
            }

            return;
        }

        if (_count > Capacity)
        {
            // A merged union still above the capacity: cut it back before Space-Saving goes on.
            ErrorBound = Math.Max(ErrorBound, Truncate());
            _heapValid = false;
        }

        if (_count < Capacity)
        {
            Append(new Entry(item, DistinctCounter.Hash(item), weight, 0));
            _index.Add(item, _count - 1);
            _heapValid = false;
            return;
        }

        // Full: the item takes the place of the least counted one, inheriting its count as its error.
        if (!_heapValid)
        {
            Heapify();
        }

        var least = _heap![0];
        ref var evicted = ref _entries[least];
        _index.Remove(evicted.Item);
        var floor = evicted.Count;
        ErrorBound = Math.Max(ErrorBound, floor);
        evicted = new Entry(item, DistinctCounter.Hash(item), floor + weight, floor) { HeapPosition = 0 };
        _index.Add(item, least);
        SiftDown(0);
    }

    /// <summary>Merges another summary into this one (the other is not changed). Both must have the same capacity.</summary>
    /// <param name="other">The other summary.</param>
    public void Merge(TopKSummary<TItem> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Capacity != Capacity)
        {
            throw new ArgumentException($"A top-k summary of capacity {other.Capacity} cannot be merged into one of capacity {Capacity}.", nameof(other));
        }

        if (other.Total == 0)
        {
            return;
        }

        if (Total == 0)
        {
            // Into an empty summary (a sliding window's first slice): a copy.
            _index = new Dictionary<TItem, int>(other._index);
            _entries = other._entries.AsSpan(0, other._count).ToArray();
            _count = other._count;
            Total = other.Total;
            ErrorBound = other.ErrorBound;
            _heapValid = false;
            return;
        }

        var mine = ErrorBound;
        var theirs = other.ErrorBound;
        var before = _count;
        var stamp = ++_mergeStamp;
        for (var j = 0; j < other._count; j++)
        {
            ref var their = ref other._entries[j];
            ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_index, their.Item, out var exists);
            if (exists)
            {
                ref var entry = ref _entries[slot];
                entry.Count += their.Count;
                entry.Error += their.Error;
                entry.Stamp = stamp;
            }
            else
            {
                slot = _count;
                Append(new Entry(their.Item, their.Hash, their.Count + mine, their.Error + mine) { Stamp = stamp });
            }
        }

        if (theirs > 0)
        {
            // Each item monitored here only may have occurred up to the other's bound there.
            for (var i = 0; i < before; i++)
            {
                ref var entry = ref _entries[i];
                if (entry.Stamp != stamp)
                {
                    entry.Count += theirs;
                    entry.Error += theirs;
                }
            }
        }

        Total = checked(Total + other.Total);
        _heapValid = false;

        // A k-way merge: the union is cut back to the capacity only past twice the capacity (or before the next add),
        // which keeps the same bound as cutting after every merge and does it far less often.
        ErrorBound = _count > 2 * Capacity ? Math.Max(mine + theirs, Truncate()) : mine + theirs;
    }

    /// <summary>The <paramref name="k"/> most frequent items, most frequent first (ties: the smaller error first).</summary>
    /// <param name="k">How many (at least 1).</param>
    /// <returns>At most <paramref name="k"/> items with their counts and errors.</returns>
    public IReadOnlyList<TopKItem<TItem>> Top(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);

        // Insertion into a buffer of the best k so far: one pass for k much smaller than the summary.
        var best = new int[Math.Min(k, _count)];
        var n = 0;
        for (var i = 0; i < _count; i++)
        {
            if (n == best.Length && !Before(i, best[n - 1]))
            {
                continue;
            }

            var at = n == best.Length ? n - 1 : n++;
            while (at > 0 && Before(i, best[at - 1]))
            {
                best[at] = best[at - 1];
                at--;
            }

            best[at] = i;
        }

        var top = new TopKItem<TItem>[n];
        for (var i = 0; i < n; i++)
        {
            ref var e = ref _entries[best[i]];
            top[i] = new TopKItem<TItem>(e.Item, e.Count, e.Error);
        }

        return top;
    }

    /// <summary>
    /// Writes the summary as state: a format byte (1), the capacity, the total and the error bound, the number of
    /// items, then per item its count, error (varints), hash (8 bytes) and its bytes (length-prefixed, by <paramref name="items"/>).
    /// </summary>
    internal void WriteTo(IBufferWriter<byte> output, IStateCodec<TItem> items)
    {
        output.GetSpan(1)[0] = 1;
        output.Advance(1);
        StateVarint.Write(output, (ulong)Capacity);
        StateVarint.Write(output, (ulong)Total);
        StateVarint.Write(output, (ulong)ErrorBound);
        StateVarint.Write(output, (ulong)_count);
        var item = new ArrayBufferWriter<byte>();
        for (var i = 0; i < _count; i++)
        {
            ref var entry = ref _entries[i];
            StateVarint.Write(output, (ulong)entry.Count);
            StateVarint.Write(output, (ulong)entry.Error);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(output.GetSpan(8), entry.Hash);
            output.Advance(8);
            item.ResetWrittenCount();
            items.Write(entry.Item, item);
            StateVarint.Write(output, (ulong)item.WrittenCount);
            output.Write(item.WrittenSpan);
        }
    }

    /// <summary>Reads a summary written by <see cref="WriteTo"/>.</summary>
    internal static TopKSummary<TItem> ReadFrom(ReadOnlySpan<byte> data, IStateCodec<TItem> items)
    {
        var reader = new StateVarint.Reader(data, "top-k");
        var format = reader.ReadByte();
        if (format != 1)
        {
            throw reader.Bad($"has format {format} (this version reads 1)");
        }

        var capacity = reader.ReadLength(int.MaxValue);
        if (capacity < 1)
        {
            throw reader.Bad("has capacity 0");
        }

        var summary = new TopKSummary<TItem>(capacity) { Total = reader.ReadCount(), ErrorBound = reader.ReadCount() };
        var count = reader.ReadLength(2 * capacity);
        for (var i = 0; i < count; i++)
        {
            var n = reader.ReadCount();
            var error = reader.ReadCount();
            var hash = reader.ReadUInt64();
            var item = items.Read(reader.ReadBytes(reader.ReadLength(int.MaxValue)));
            if (!summary._index.TryAdd(item, i))
            {
                throw reader.Bad("holds an item twice");
            }

            summary.Append(new Entry(item, hash, n, error));
        }

        reader.End();
        return summary;
    }

    private void Append(Entry entry)
    {
        if (_count == _entries.Length)
        {
            // Doubling (a merge's union passes 2 × capacity by up to the other's size before it is cut back).
            Array.Resize(ref _entries, Math.Max(8, _count * 2));
        }

        _entries[_count++] = entry;
    }

    /// <summary>Keeps the <see cref="Capacity"/> largest (count, then hash); returns the largest count dropped.</summary>
    private long Truncate()
    {
        var order = System.Buffers.ArrayPool<(long Count, ulong Hash, int Slot)>.Shared.Rent(_count);
        try
        {
            for (var i = 0; i < _count; i++)
            {
                order[i] = (_entries[i].Count, _entries[i].Hash, i);
            }

            var span = order.AsSpan(0, _count);
            Select(span, Capacity);
            var dropped = span[Capacity].Count;
            foreach (var (_, _, slot) in span[Capacity..])
            {
                _index.Remove(_entries[slot].Item);
                _entries[slot].Count = -1; // marks the slot free
            }

            // Compact: kept entries keep their order; the ones that move get their new slot.
            var write = 0;
            for (var read = 0; read < _count; read++)
            {
                if (_entries[read].Count < 0)
                {
                    continue;
                }

                if (read != write)
                {
                    _entries[write] = _entries[read];
                    _index[_entries[write].Item] = write;
                }

                write++;
            }

            Array.Clear(_entries, write, _count - write);
            _count = write;
            return dropped;
        }
        finally
        {
            System.Buffers.ArrayPool<(long Count, ulong Hash, int Slot)>.Shared.Return(order);
        }
    }

    /// <summary>
    /// Quickselect (median-of-three pivots, deterministic): afterwards the first <paramref name="n"/> are the largest by
    /// (count, then the smaller hash), in no order, and <c>span[n]</c> is the largest of the rest. Linear on average.
    /// </summary>
    private static void Select(Span<(long Count, ulong Hash, int Slot)> span, int n)
    {
        static bool Above((long Count, ulong Hash, int Slot) a, (long Count, ulong Hash, int Slot) b) => a.Count > b.Count || (a.Count == b.Count && a.Hash < b.Hash);

        var lo = 0;
        var hi = span.Length - 1;
        while (hi > lo)
        {
            var mid = lo + ((hi - lo) / 2);
            if (Above(span[mid], span[lo]))
            {
                (span[mid], span[lo]) = (span[lo], span[mid]);
            }

            if (Above(span[hi], span[lo]))
            {
                (span[hi], span[lo]) = (span[lo], span[hi]);
            }

            if (Above(span[hi], span[mid]))
            {
                (span[hi], span[mid]) = (span[mid], span[hi]);
            }

            var pivot = span[mid]; // the median of the three
            var i = lo;
            var j = hi;
            while (i <= j)
            {
                while (Above(span[i], pivot))
                {
                    i++;
                }

                while (Above(pivot, span[j]))
                {
                    j--;
                }

                if (i <= j)
                {
                    (span[i], span[j]) = (span[j], span[i]);
                    i++;
                    j--;
                }
            }

            if (n <= j)
            {
                hi = j;
            }
            else if (n >= i)
            {
                lo = i;
            }
            else
            {
                return;
            }
        }
    }

    // The report order: count descending, then error ascending, then hash.
    private bool Before(int a, int b)
    {
        ref var x = ref _entries[a];
        ref var y = ref _entries[b];
        return x.Count != y.Count ? x.Count > y.Count : x.Error != y.Error ? x.Error < y.Error : x.Hash < y.Hash;
    }

    // (count, hash): a total order, so the least counted item is the same whatever the heap's shape.
    private bool Less(int a, int b)
    {
        ref var x = ref _entries[a];
        ref var y = ref _entries[b];
        return x.Count < y.Count || (x.Count == y.Count && x.Hash < y.Hash);
    }

    private void Heapify()
    {
        if (_heap is null || _heap.Length < _count)
        {
            _heap = new int[Math.Max(Capacity, _count)];
        }

        for (var i = 0; i < _count; i++)
        {
            _heap[i] = i;
            _entries[i].HeapPosition = i;
        }

        for (var i = (_count / 2) - 1; i >= 0; i--)
        {
            SiftDown(i);
        }

        _heapValid = true;
    }

    private void SiftDown(int at)
    {
        var heap = _heap!;
        var slot = heap[at];
        var n = _count;
        while (true)
        {
            var child = (2 * at) + 1;
            if (child >= n)
            {
                break;
            }

            if (child + 1 < n && Less(heap[child + 1], heap[child]))
            {
                child++;
            }

            if (!Less(heap[child], slot))
            {
                break;
            }

            heap[at] = heap[child];
            _entries[heap[at]].HeapPosition = at;
            at = child;
        }

        heap[at] = slot;
        _entries[slot].HeapPosition = at;
    }

    private struct Entry(TItem item, ulong hash, long count, long error)
    {
        public readonly TItem Item = item;
        public readonly ulong Hash = hash;
        public long Count = count;
        public long Error = error;
        public int HeapPosition;
        public int Stamp;
    }
}
