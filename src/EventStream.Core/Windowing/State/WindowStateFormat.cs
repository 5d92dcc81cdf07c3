using System.Buffers;
using System.Buffers.Binary;

namespace EventStream.Windowing.State;

/// <summary>Receives the state entries a window engine exports: each is a field (what it is) and a value (its content).</summary>
internal interface IWindowStateWriter
{
    /// <summary>The entry <paramref name="field"/> now holds <paramref name="value"/>.</summary>
    /// <param name="field">The entry's identity; the span is only valid during the call.</param>
    /// <param name="value">The entry's content; the span is only valid during the call.</param>
    void Upsert(ReadOnlySpan<byte> field, ReadOnlySpan<byte> value);

    /// <summary>The entry <paramref name="field"/> is gone (purged, or merged into another).</summary>
    /// <param name="field">The entry's identity; the span is only valid during the call.</param>
    void Remove(ReadOnlySpan<byte> field);
}

/// <summary>The codecs a window engine's state is written with: one for its keys, one for its accumulators.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TAcc">The accumulator type.</typeparam>
/// <param name="Key">The key codec.</param>
/// <param name="Accumulator">The accumulator codec.</param>
internal sealed record WindowStateCodecs<TKey, TAcc>(IStateCodec<TKey> Key, IStateCodec<TAcc> Accumulator);

/// <summary>
/// The engine-wide part of a window engine's state, kept beside its entries: the watermark, the largest timestamp seen
/// and the change counter that early firings compare slices by.
/// </summary>
/// <param name="Watermark">The watermark, epoch ms.</param>
/// <param name="MaxTimestamp">The largest timestamp seen, epoch ms.</param>
/// <param name="Version">The change counter.</param>
internal readonly record struct WindowClock(long Watermark, long MaxTimestamp, long Version)
{
    /// <summary>The clock of an engine that has seen nothing.</summary>
    public static WindowClock Empty => new(long.MinValue, long.MinValue, 0);
}

/// <summary>
/// The bytes of window state entries. A field is the entry kind (one byte), the window or slice start (8 bytes, big
/// endian) and the key as its codec writes it; values start with unsigned LEB128 integers.
/// </summary>
internal static class WindowStateFormat
{
    /// <summary>
    /// The version of this format, stored with a partitioned computation's definition: a worker of another format is
    /// refused rather than misreading the state. 2: slices and window records in groups.
    /// </summary>
    public const string Version = "2";

    /// <summary>How many consecutive panes (slices) or window starts (window records) of one key one entry holds.</summary>
    public const int GroupSize = 64;

    /// <summary>
    /// A group of a key's slices of a tumbling or sliding window (the start is the group's first pane, a multiple of
    /// <see cref="GroupSize"/> panes): per slice its index in the group, count, version, accumulator length and
    /// accumulator.
    /// </summary>
    public const byte SliceEntry = (byte)'S';

    /// <summary>A block of slices (long sliding windows): count, version, accumulator.</summary>
    public const byte BlockEntry = (byte)'B';

    /// <summary>
    /// A group of a key's window firing records (the start is the group's first window start, a multiple of
    /// <see cref="GroupSize"/> slides): per window its index in the group, firings, fired, version last emitted.
    /// </summary>
    public const byte WindowEntry = (byte)'W';

    /// <summary>A session window: end, count, firings, flags, accumulator.</summary>
    public const byte SessionEntry = (byte)'E';

    public const int FieldHeader = 9;

    public static void WriteFieldHeader(IBufferWriter<byte> output, byte kind, long start)
    {
        var span = output.GetSpan(FieldHeader);
        span[0] = kind;
        BinaryPrimitives.WriteInt64BigEndian(span[1..], start);
        output.Advance(FieldHeader);
    }

    public static (byte Kind, long Start) ReadFieldHeader(ReadOnlySpan<byte> field)
    {
        if (field.Length < FieldHeader || field[0] is not (SliceEntry or BlockEntry or WindowEntry or SessionEntry))
        {
            throw new FormatException($"Not a window state field ({field.Length} bytes{(field.IsEmpty ? string.Empty : $", kind {field[0]}")}).");
        }

        return (field[0], BinaryPrimitives.ReadInt64BigEndian(field[1..]));
    }

    public static void WriteInt64(IBufferWriter<byte> output, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(output.GetSpan(8), value);
        output.Advance(8);
    }

    public static long ReadInt64(ref ReadOnlySpan<byte> data)
    {
        if (data.Length < 8)
        {
            throw new FormatException("A window state value ends early.");
        }

        var value = BinaryPrimitives.ReadInt64LittleEndian(data);
        data = data[8..];
        return value;
    }

    public static void WriteVarint(IBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(10);
        var at = 0;
        while (value >= 0x80)
        {
            span[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[at++] = (byte)value;
        output.Advance(at);
    }

    public static ulong ReadVarint(ref ReadOnlySpan<byte> data)
    {
        ulong value = 0;
        for (var at = 0; at < data.Length && at < 10; at++)
        {
            var b = data[at];
            value |= (ulong)(b & 0x7F) << (7 * at);
            if (b < 0x80)
            {
                data = data[(at + 1)..];
                return value;
            }
        }

        throw new FormatException("A window state value ends inside a number.");
    }

    public static byte ReadByte(ref ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            throw new FormatException("A window state value ends early.");
        }

        var value = data[0];
        data = data[1..];
        return value;
    }
}
