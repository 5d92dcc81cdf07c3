using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace EventStream;

/// <summary>
/// Counts distinct values: exactly (a set of 64-bit value hashes) up to <see cref="ExactLimit"/> values, then with a
/// HyperLogLog sketch of 2^14 registers read with Ertl's improved estimator (the one Redis uses), which needs no
/// bias tables and has a standard error of about 0.8 % at every cardinality. Mergeable, for session and sliding windows.
/// In JSON (System.Text.Json) it is its state as a base64 string, so it can sit inside a user-defined accumulator that
/// a partitioned window stores.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(DistinctCounterJsonConverter))]
public sealed class DistinctCounter
{
    /// <summary>Up to this many distinct values the count is exact.</summary>
    public const int ExactLimit = 2048;

    private const int Precision = 14;
    private const int RegisterCount = 1 << Precision;
    private const int MaxRank = 64 - Precision + 1;

    private HashSet<ulong>? _exact = [];
    private byte[]? _registers;

    /// <summary>Gets whether the count is still exact.</summary>
    public bool IsExact => _exact is not null;

    /// <summary>Gets the number of distinct values (estimated once past <see cref="ExactLimit"/>).</summary>
    public long Count => _exact?.Count ?? Estimate(_registers!);

    /// <summary>Adds a value.</summary>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="value">The value; <see langword="null"/> counts as one value of its own.</param>
    public void Add<TValue>(TValue value) => AddHash(Hash(value));

    /// <summary>Merges another counter into this one (the other is not changed).</summary>
    /// <param name="other">The other counter.</param>
    public void Merge(DistinctCounter other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other._exact is { } hashes)
        {
            foreach (var hash in hashes)
            {
                AddHash(hash);
            }

            return;
        }

        ToSketch();
        var mine = _registers!;
        var theirs = other._registers!;
        for (var i = 0; i < mine.Length; i++)
        {
            if (theirs[i] > mine[i])
            {
                mine[i] = theirs[i];
            }
        }
    }

    /// <summary>
    /// Writes the counter as state: tag 0 and the exact set's hashes, tag 1 and the sparse sketch (register index and
    /// rank of each register that is set), or tag 2 and all 16,384 registers once a third or more are set
    /// (the smaller of the two).
    /// </summary>
    internal void WriteTo(IBufferWriter<byte> output)
    {
        if (_exact is { } exact)
        {
            var span = output.GetSpan(1 + (8 * exact.Count));
            span[0] = 0;
            var at = 1;
            foreach (var hash in exact)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(span[at..], hash);
                at += 8;
            }

            output.Advance(at);
            return;
        }

        var registers = _registers!;
        var set = RegisterCount - registers.AsSpan().Count((byte)0);
        if (set * 3 >= RegisterCount)
        {
            var dense = output.GetSpan(1 + RegisterCount);
            dense[0] = 2;
            registers.CopyTo(dense[1..]);
            output.Advance(1 + RegisterCount);
            return;
        }

        var sparse = output.GetSpan(1 + (3 * set));
        sparse[0] = 1;
        var next = 1;
        for (var i = 0; i < registers.Length; i++)
        {
            if (registers[i] != 0)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(sparse[next..], (ushort)i);
                sparse[next + 2] = registers[i];
                next += 3;
            }
        }

        output.Advance(next);
    }

    /// <summary>Reads a counter written by <see cref="WriteTo"/>.</summary>
    internal static DistinctCounter ReadFrom(ReadOnlySpan<byte> data)
    {
        var counter = new DistinctCounter();
        var body = data.IsEmpty ? data : data[1..];
        switch (data.IsEmpty ? -1 : data[0])
        {
            case 0 when body.Length % 8 == 0:
                for (var at = 0; at < body.Length; at += 8)
                {
                    counter._exact!.Add(BinaryPrimitives.ReadUInt64LittleEndian(body[at..]));
                }

                return counter;
            case 1 when body.Length % 3 == 0:
                counter._exact = null;
                counter._registers = new byte[RegisterCount];
                for (var at = 0; at < body.Length; at += 3)
                {
                    counter._registers[BinaryPrimitives.ReadUInt16LittleEndian(body[at..]) & (RegisterCount - 1)] = body[at + 2];
                }

                return counter;
            case 2 when body.Length == RegisterCount:
                counter._exact = null;
                counter._registers = body.ToArray();
                return counter;
            default:
                throw new FormatException($"Not a distinct-count state value ({data.Length} bytes, tag {(data.IsEmpty ? "none" : data[0])}).");
        }
    }

    /// <summary>
    /// The 64-bit hash a value is counted by. It must be the same in every process (a partitioned window's counter moves
    /// between workers), so it never comes from <see cref="object.GetHashCode"/>, which is seeded per process for strings,
    /// records, tuples and types: strings by their characters, numbers, <see cref="Guid"/>, dates and other primitives by
    /// their bits, anything else by its JSON (System.Text.Json, default options with fields included).
    /// </summary>
    internal static ulong Hash<TValue>(TValue value) => value switch
    {
        null => Mix(0x2545F4914F6CDD1DUL),
        string s => Mix(Fnv(MemoryMarshal.AsBytes(s.AsSpan()))),
        long l => Mix((ulong)l),
        int i => Mix((ulong)(long)i),
        short i => Mix((ulong)(long)i),
        sbyte i => Mix((ulong)(long)i),
        ulong u => Mix(u),
        uint u => Mix(u),
        ushort u => Mix(u),
        byte u => Mix(u),
        char c => Mix(c),
        bool b => Mix(b ? 1UL : 2UL),
        double d => Mix((ulong)BitConverter.DoubleToInt64Bits(d == 0 ? 0 : d)),
        float f => Mix((ulong)BitConverter.DoubleToInt64Bits(f == 0 ? 0 : f)),
        decimal m => Mix(Fnv(MemoryMarshal.AsBytes<int>(decimal.GetBits(m / 1.000000000000000000000000000000000m)))),
        Guid g => Mix(Fnv(MemoryMarshal.AsBytes(new ReadOnlySpan<Guid>(in g)))),
        DateTime t => Mix((ulong)t.Ticks),
        DateTimeOffset t => Mix((ulong)t.UtcTicks),
        _ => Mix(Fnv(JsonOf(value))),
    };

    private static ulong Fnv(ReadOnlySpan<byte> bytes)
    {
        var h = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            h = (h ^ b) * 1099511628211UL;
        }

        return h;
    }

    /// <summary>The JSON a value without a hash of its own is counted by: fields too (a tuple is its fields).</summary>
    private static readonly System.Text.Json.JsonSerializerOptions ValueJson = new() { IncludeFields = true };

    private static byte[] JsonOf<TValue>(TValue value)
    {
        try
        {
            return System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value, value!.GetType(), ValueJson);
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or System.Text.Json.JsonException)
        {
            throw new NotSupportedException($"A distinct count counts a {value!.GetType().Name} by its JSON, which System.Text.Json cannot write: {ex.Message}", ex);
        }
    }

    private void AddHash(ulong hash)
    {
        if (_exact is { } exact)
        {
            exact.Add(hash);
            if (exact.Count > ExactLimit)
            {
                ToSketch();
            }

            return;
        }

        Register(_registers!, hash);
    }

    private void ToSketch()
    {
        if (_exact is null)
        {
            return;
        }

        var registers = new byte[RegisterCount];
        foreach (var hash in _exact)
        {
            Register(registers, hash);
        }

        _registers = registers;
        _exact = null;
    }

    private static void Register(byte[] registers, ulong hash)
    {
        var index = (int)(hash & (RegisterCount - 1));
        var rest = (hash >> Precision) | (1UL << (64 - Precision)); // a sentinel bit caps the rank at 64 - p + 1
        var rank = (byte)(BitOperations.TrailingZeroCount(rest) + 1);
        if (rank > registers[index])
        {
            registers[index] = rank;
        }
    }

    // Ertl, "New cardinality estimation algorithms for HyperLogLog sketches" (2017): the improved raw estimator.
    private static long Estimate(byte[] registers)
    {
        Span<int> histogram = stackalloc int[MaxRank + 1];
        foreach (var r in registers)
        {
            histogram[r]++;
        }

        const double m = RegisterCount;
        var z = m * Tau((m - histogram[MaxRank]) / m);
        for (var k = MaxRank - 1; k >= 1; k--)
        {
            z = 0.5 * (z + histogram[k]);
        }

        z += m * Sigma(histogram[0] / m);
        var alpha = 0.5 / Math.Log(2);
        return (long)Math.Round(alpha * m * m / z);
    }

    private static double Sigma(double x)
    {
        if (x == 1.0)
        {
            return double.PositiveInfinity;
        }

        double y = 1, z = x, previous;
        do
        {
            x *= x;
            previous = z;
            z += x * y;
            y += y;
        }
        while (z != previous);
        return z;
    }

    private static double Tau(double x)
    {
        if (x == 0.0 || x == 1.0)
        {
            return 0.0;
        }

        double y = 1, z = 1 - x, previous;
        do
        {
            x = Math.Sqrt(x);
            previous = z;
            y *= 0.5;
            z -= Math.Pow(1 - x, 2) * y;
        }
        while (z != previous);
        return z / 3;
    }

    // SplitMix64's finaliser: spreads any input over all 64 bits.
    private static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL; // so that 0 does not map to 0
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}

/// <summary>Writes a <see cref="DistinctCounter"/> as its state bytes in base64, and reads it back.</summary>
internal sealed class DistinctCounterJsonConverter : System.Text.Json.Serialization.JsonConverter<DistinctCounter>
{
    public override DistinctCounter Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options)
    {
        if (reader.TokenType != System.Text.Json.JsonTokenType.String)
        {
            throw new System.Text.Json.JsonException($"A distinct counter is a base64 string of its state, not {reader.TokenType}.");
        }

        try
        {
            return DistinctCounter.ReadFrom(reader.GetBytesFromBase64());
        }
        catch (FormatException ex)
        {
            throw new System.Text.Json.JsonException("Not a distinct counter's state: " + ex.Message, ex);
        }
    }

    public override void Write(System.Text.Json.Utf8JsonWriter writer, DistinctCounter value, System.Text.Json.JsonSerializerOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>();
        value.WriteTo(buffer);
        writer.WriteBase64StringValue(buffer.WrittenSpan);
    }
}
