using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace EventStream.Windowing.State;

/// <summary>
/// The codecs window state is written with: compact binary ones for the built-in accumulators (count, sum, average,
/// min, max, distinct count, top-k, percentiles) and the common key types, and System.Text.Json for any other type.
/// The sketches' encodings begin with a format byte, so a later version can read what an earlier one wrote.
/// </summary>
internal static class StateCodec
{
    /// <summary>The codec for <typeparamref name="T"/>: a built-in one when there is one, otherwise JSON with <paramref name="json"/>.</summary>
    /// <typeparam name="T">The type.</typeparam>
    /// <param name="json">The JSON options for types without a built-in codec; <see langword="null"/> for <see cref="JsonSerializerOptions.Web"/>.</param>
    /// <returns>The codec.</returns>
    public static IStateCodec<T> For<T>(JsonSerializerOptions? json = null)
    {
        object codec = typeof(T) switch
        {
            var t when t == typeof(long) => Int64Codec.Instance,
            var t when t == typeof(int) => Int32Codec.Instance,
            var t when t == typeof(double) => DoubleCodec.Instance,
            var t when t == typeof(string) => StringCodec.Instance,
            var t when t == typeof(Guid) => GuidCodec.Instance,
            var t when t == typeof(SumAccumulator) => SumCodec.Instance,
            var t when t == typeof(DistinctCounter) => DistinctCounterCodec.Instance,
            var t when t == typeof(QuantileSketch) => QuantileSketchCodec.Instance,
            var t when t.IsGenericType && t.GetGenericTypeDefinition() == typeof(TopKSummary<>) =>
                Activator.CreateInstance(typeof(TopKSummaryCodec<>).MakeGenericType(t.GetGenericArguments()), json ?? JsonSerializerOptions.Web)!,
            _ => new JsonCodec<T>(json ?? JsonSerializerOptions.Web),
        };
        return (IStateCodec<T>)codec;
    }

    /// <summary>A codec that writes values as System.Text.Json.</summary>
    /// <typeparam name="T">The type.</typeparam>
    /// <param name="options">The options; <see langword="null"/> for <see cref="JsonSerializerOptions.Web"/>.</param>
    /// <returns>The codec.</returns>
    public static IStateCodec<T> Json<T>(JsonSerializerOptions? options = null) => new JsonCodec<T>(options ?? JsonSerializerOptions.Web);

    private static Span<byte> Take(IBufferWriter<byte> output, int length) => output.GetSpan(length)[..length];

    private static void Expect(ReadOnlySpan<byte> data, int length, string type)
    {
        if (data.Length != length)
        {
            throw new FormatException($"A {type} state value has {length} bytes; this one has {data.Length}.");
        }
    }

    /// <summary>A value of a fixed size in bytes (little endian), read back only from exactly that many.</summary>
    private sealed class FixedCodec<T>(int size, string type, SpanWriter<T> write, Func<ReadOnlySpan<byte>, T> read) : IStateCodec<T>
    {
        public void Write(T value, IBufferWriter<byte> output)
        {
            write(Take(output, size), value);
            output.Advance(size);
        }

        public T Read(ReadOnlySpan<byte> data)
        {
            Expect(data, size, type);
            return read(data);
        }
    }

    private delegate void SpanWriter<in T>(Span<byte> span, T value);

    private static class Int64Codec
    {
        public static readonly FixedCodec<long> Instance = new(8, "long", BinaryPrimitives.WriteInt64LittleEndian, BinaryPrimitives.ReadInt64LittleEndian);
    }

    private static class Int32Codec
    {
        public static readonly FixedCodec<int> Instance = new(4, "int", BinaryPrimitives.WriteInt32LittleEndian, BinaryPrimitives.ReadInt32LittleEndian);
    }

    private static class DoubleCodec
    {
        public static readonly FixedCodec<double> Instance = new(8, "double", BinaryPrimitives.WriteDoubleLittleEndian, BinaryPrimitives.ReadDoubleLittleEndian);
    }

    private sealed class StringCodec : IStateCodec<string>
    {
        public static readonly StringCodec Instance = new();

        public void Write(string value, IBufferWriter<byte> output) => Encoding.UTF8.GetBytes(value, output);

        public string Read(ReadOnlySpan<byte> data) => Encoding.UTF8.GetString(data);
    }

    private static class GuidCodec
    {
        public static readonly FixedCodec<Guid> Instance = new(16, "Guid", static (span, value) => value.TryWriteBytes(span), static data => new Guid(data));
    }

    private sealed class SumCodec : IStateCodec<SumAccumulator>
    {
        public static readonly SumCodec Instance = new();

        public void Write(SumAccumulator value, IBufferWriter<byte> output)
        {
            // The compensation too: a restored sum goes on adding exactly as the one it was written from.
            var span = Take(output, 24);
            BinaryPrimitives.WriteDoubleLittleEndian(span, value.Sum);
            BinaryPrimitives.WriteDoubleLittleEndian(span[8..], value.Compensation);
            BinaryPrimitives.WriteInt64LittleEndian(span[16..], value.Count);
            output.Advance(24);
        }

        public SumAccumulator Read(ReadOnlySpan<byte> data)
        {
            Expect(data, 24, "sum");
            return new SumAccumulator(
                BinaryPrimitives.ReadDoubleLittleEndian(data),
                BinaryPrimitives.ReadDoubleLittleEndian(data[8..]),
                BinaryPrimitives.ReadInt64LittleEndian(data[16..]));
        }
    }

    private sealed class DistinctCounterCodec : IStateCodec<DistinctCounter>
    {
        public static readonly DistinctCounterCodec Instance = new();

        public void Write(DistinctCounter value, IBufferWriter<byte> output) => value.WriteTo(output);

        public DistinctCounter Read(ReadOnlySpan<byte> data) => DistinctCounter.ReadFrom(data);
    }

    /// <summary>A top-k summary, its items written by their own codec (built in for strings, numbers and Guids; JSON otherwise).</summary>
    private sealed class TopKSummaryCodec<TItem>(JsonSerializerOptions json) : IStateCodec<TopKSummary<TItem>>
        where TItem : notnull
    {
        private readonly IStateCodec<TItem> _items = For<TItem>(json);

        public void Write(TopKSummary<TItem> value, IBufferWriter<byte> output) => value.WriteTo(output, _items);

        public TopKSummary<TItem> Read(ReadOnlySpan<byte> data) => TopKSummary<TItem>.ReadFrom(data, _items);
    }

    private sealed class QuantileSketchCodec : IStateCodec<QuantileSketch>
    {
        public static readonly QuantileSketchCodec Instance = new();

        public void Write(QuantileSketch value, IBufferWriter<byte> output) => value.WriteTo(output);

        public QuantileSketch Read(ReadOnlySpan<byte> data) => QuantileSketch.ReadFrom(data);
    }

    private sealed class JsonCodec<T>(JsonSerializerOptions options) : IStateCodec<T>
    {
        private byte[]? _firstChecked;
        private volatile bool _checked;

        public void Write(T value, IBufferWriter<byte> output)
        {
            if (!_checked)
            {
                Check(value);
            }

            using var writer = new Utf8JsonWriter(output);
            JsonSerializer.Serialize(writer, value, options);
        }

        /// <summary>
        /// Checks that values read back as they were written, until two different ones have: a type whose members JSON
        /// cannot set (private setters, say) reads an empty value back right, but would restore a filled one as empty.
        /// </summary>
        private void Check(T value)
        {
            var json = JsonSerializer.SerializeToUtf8Bytes(value, options);
            var back = JsonSerializer.SerializeToUtf8Bytes(JsonSerializer.Deserialize<T>(json, options), options);
            if (!json.AsSpan().SequenceEqual(back))
            {
                throw new InvalidOperationException(
                    $"A {typeof(T).Name} does not read back through System.Text.Json as it was written ({Encoding.UTF8.GetString(json)} reads back as " +
                    $"{Encoding.UTF8.GetString(back)}), so a partitioned window would restore it wrong: give the members public setters or [JsonInclude], " +
                    "or a constructor System.Text.Json can use, or give the type a codec of its own.");
            }

            if (_firstChecked is null)
            {
                _firstChecked = json;
            }
            else if (!_firstChecked.AsSpan().SequenceEqual(json))
            {
                _checked = true;
            }
        }

        public T Read(ReadOnlySpan<byte> data)
        {
            var value = JsonSerializer.Deserialize<T>(data, options);
            return value is null ? throw new FormatException($"A {typeof(T).Name} state value reads as JSON null.") : value;
        }
    }
}
