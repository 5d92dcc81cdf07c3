using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace EventStream;

/// <summary>A run of events that crosses a queue together; its array is pooled.</summary>
[DebuggerDisplay("Count = {Count}")]
internal sealed class Batch<T>
{
    // Boxed, and only when something traces: an untraced batch carries one null reference, not a 40-byte context.
    private readonly StrongBox<ActivityContext>? _trace;

    private Batch(T[] items, long admittedAt, ActivityContext trace)
    {
        Items = items;
        AdmittedAt = admittedAt;
        _trace = trace == default ? null : new StrongBox<ActivityContext>(trace);
    }

    public T[] Items { get; }

    public int Count { get; set; }

    /// <summary>The <see cref="TimeProvider"/> timestamp at which the oldest event of the batch was admitted.</summary>
    public long AdmittedAt { get; }

    /// <summary>The trace context the batch was admitted under (the ingest span's), or none while nothing traces.</summary>
    public ActivityContext Trace => _trace?.Value ?? default;

    public bool IsFull => Count == Items.Length;

    public static Batch<T> Rent(int size, long admittedAt, ActivityContext trace = default) => new(ArrayPool<T>.Shared.Rent(size), admittedAt, trace);

    public void Add(T item) => Items[Count++] = item;

    public void Return()
    {
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            Array.Clear(Items, 0, Count);
        }

        Count = 0;
        ArrayPool<T>.Shared.Return(Items);
    }
}
