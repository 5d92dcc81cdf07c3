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
/// and the <see cref="Capacity"/> largest are kept.
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
    private readonly Dictionary<TItem, Node> _nodes = [];

    // The monitored items; a min-heap by (count, hash) once _heap is set (kept from the first eviction on).
    private readonly List<Node> _list = [];
    private bool _heap;

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
    public int Count => _list.Count;

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
        if (_nodes.TryGetValue(item, out var node))
        {
            node.Count += weight;
            if (_heap)
            {
                SiftDown(node.Position);
            }

            return;
        }

        if (_list.Count < Capacity)
        {
            node = new Node(item, DistinctCounter.Hash(item), weight, 0) { Position = _list.Count };
            _list.Add(node);
            _nodes.Add(item, node);
            _heap = false;
            return;
        }

        // Full: the item takes the place of the least counted one, inheriting its count as its error.
        if (!_heap)
        {
            Heapify();
        }

        var least = _list[0];
        _nodes.Remove(least.Item);
        ErrorBound = Math.Max(ErrorBound, least.Count);
        node = new Node(item, DistinctCounter.Hash(item), least.Count + weight, least.Count) { Position = 0 };
        _list[0] = node;
        _nodes.Add(item, node);
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

        var mine = ErrorBound;
        var theirs = other.ErrorBound;
        if (theirs > 0)
        {
            // Each item monitored here only may have occurred up to the other's bound there.
            foreach (var node in _list)
            {
                if (!other._nodes.ContainsKey(node.Item))
                {
                    node.Count += theirs;
                    node.Error += theirs;
                }
            }
        }

        foreach (var their in other._list)
        {
            if (_nodes.TryGetValue(their.Item, out var node))
            {
                node.Count += their.Count;
                node.Error += their.Error;
            }
            else
            {
                node = new Node(their.Item, their.Hash, their.Count + mine, their.Error + mine) { Position = _list.Count };
                _list.Add(node);
                _nodes.Add(node.Item, node);
            }
        }

        Total = checked(Total + other.Total);
        var bound = mine + theirs;
        _heap = false;
        if (_list.Count > Capacity)
        {
            // Keep the Capacity largest: pop the least counted off a heap of all of them.
            Heapify();
            while (_list.Count > Capacity)
            {
                var least = _list[0];
                bound = Math.Max(bound, least.Count);
                _nodes.Remove(least.Item);
                var last = _list[^1];
                _list.RemoveAt(_list.Count - 1);
                if (_list.Count > 0 && !ReferenceEquals(last, least))
                {
                    last.Position = 0;
                    _list[0] = last;
                    SiftDown(0);
                }
            }
        }

        ErrorBound = bound;
    }

    /// <summary>The <paramref name="k"/> most frequent items, most frequent first (ties: the smaller error first).</summary>
    /// <param name="k">How many (at least 1).</param>
    /// <returns>At most <paramref name="k"/> items with their counts and errors.</returns>
    public IReadOnlyList<TopKItem<TItem>> Top(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var nodes = _list.ToArray();
        Array.Sort(nodes, static (a, b) =>
        {
            var byCount = b.Count.CompareTo(a.Count);
            if (byCount != 0)
            {
                return byCount;
            }

            var byError = a.Error.CompareTo(b.Error);
            return byError != 0 ? byError : a.Hash.CompareTo(b.Hash);
        });
        var top = new TopKItem<TItem>[Math.Min(k, nodes.Length)];
        for (var i = 0; i < top.Length; i++)
        {
            top[i] = new TopKItem<TItem>(nodes[i].Item, nodes[i].Count, nodes[i].Error);
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
        StateVarint.Write(output, (ulong)_list.Count);
        var item = new ArrayBufferWriter<byte>();
        foreach (var node in _list)
        {
            StateVarint.Write(output, (ulong)node.Count);
            StateVarint.Write(output, (ulong)node.Error);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(output.GetSpan(8), node.Hash);
            output.Advance(8);
            item.ResetWrittenCount();
            items.Write(node.Item, item);
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
        var count = reader.ReadLength(capacity);
        for (var i = 0; i < count; i++)
        {
            var n = reader.ReadCount();
            var error = reader.ReadCount();
            var hash = reader.ReadUInt64();
            var item = items.Read(reader.ReadBytes(reader.ReadLength(int.MaxValue)));
            var node = new Node(item, hash, n, error) { Position = i };
            if (!summary._nodes.TryAdd(item, node))
            {
                throw reader.Bad("holds an item twice");
            }

            summary._list.Add(node);
        }

        reader.End();
        return summary;
    }

    // (count, hash): a total order, so the least counted item is the same whatever the heap's shape.
    private static bool Less(Node a, Node b) => a.Count < b.Count || (a.Count == b.Count && a.Hash < b.Hash);

    private void Heapify()
    {
        for (var i = (_list.Count / 2) - 1; i >= 0; i--)
        {
            SiftDown(i);
        }

        _heap = true;
    }

    private void SiftDown(int at)
    {
        var list = _list;
        var node = list[at];
        var n = list.Count;
        while (true)
        {
            var child = (2 * at) + 1;
            if (child >= n)
            {
                break;
            }

            if (child + 1 < n && Less(list[child + 1], list[child]))
            {
                child++;
            }

            if (!Less(list[child], node))
            {
                break;
            }

            list[at] = list[child];
            list[at].Position = at;
            at = child;
        }

        list[at] = node;
        node.Position = at;
    }

    private sealed class Node(TItem item, ulong hash, long count, long error)
    {
        public TItem Item { get; } = item;

        public ulong Hash { get; } = hash;

        public long Count { get; set; } = count;

        public long Error { get; set; } = error;

        public int Position { get; set; }
    }
}
