using System.IO.Hashing;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// Distinct users, counted as the library's <see cref="EventStream.Aggregates.DistinctCounter"/> counts: exactly (a set
/// of 64-bit hashes) up to <see cref="ExactLimit"/> users, then with a HyperLogLog sketch of 2^14 registers read with
/// Ertl's improved estimator (about 0.8 % standard error). Mergeable, for the sliding window's shared slices.
/// </summary>
/// <remarks>
/// Why not <see cref="EventStream.Aggregates.DistinctCounter"/> itself: with <c>--redis</c> the window runs partitioned,
/// so its accumulator must survive a System.Text.Json round trip (a partition taken over by another instance is restored
/// from Redis), and <see cref="EventStream.Aggregates.DistinctCounter"/> has no serialised form outside its built-in
/// codec, which serves it only as a whole accumulator, not as a member of one. This one writes itself as
/// <c>{"exact":[hash,…]}</c> or <c>{"registers":"base64"}</c>.
/// </remarks>
[JsonConverter(typeof(UserCounterJsonConverter))]
public sealed class UserCounter
{
    /// <summary>Up to this many distinct users the count is exact.</summary>
    public const int ExactLimit = 2048;

    private const int Precision = 14;
    private const int RegisterCount = 1 << Precision;
    private const int MaxRank = 64 - Precision + 1;

    private HashSet<ulong>? _exact = [];
    private byte[]? _registers;
    private long? _estimate;

    /// <summary>Gets the number of distinct users (estimated once past <see cref="ExactLimit"/>).</summary>
    public long Count => _exact?.Count ?? (_estimate ??= Estimate(_registers!));

    /// <summary>Adds a user.</summary>
    /// <param name="user">The user id.</param>
    public void Add(string user) => AddHash(XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(user)));

    /// <summary>Merges another counter into this one (the other is not changed).</summary>
    /// <param name="other">The other counter.</param>
    public void Merge(UserCounter other)
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

        _estimate = null;
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
        _estimate = null;
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
        _estimate = null;
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

    // Ertl, "New cardinality estimation algorithms for HyperLogLog sketches" (2017): the improved raw estimator, as
    // DistinctCounter reads it.
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

    /// <summary>Writes a counter as <c>{"exact":[…]}</c> (the hashes) or <c>{"registers":"…"}</c> (the sketch, base64), and reads it back.</summary>
    private sealed class UserCounterJsonConverter : JsonConverter<UserCounter>
    {
        public override UserCounter Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("A user counter is a JSON object.");
            }

            var counter = new UserCounter();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var name = reader.GetString();
                reader.Read();
                switch (name)
                {
                    case "exact" when reader.TokenType == JsonTokenType.StartArray:
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        {
                            counter._exact!.Add(reader.GetUInt64());
                        }

                        break;
                    case "registers" when reader.TokenType == JsonTokenType.String:
                        var registers = reader.GetBytesFromBase64();
                        if (registers.Length != RegisterCount)
                        {
                            throw new JsonException($"A user counter's sketch has {RegisterCount} registers, not {registers.Length}.");
                        }

                        counter._exact = null;
                        counter._registers = registers;
                        break;
                    default:
                        throw new JsonException($"Unexpected member '{name}' in a user counter.");
                }
            }

            return counter;
        }

        public override void Write(Utf8JsonWriter writer, UserCounter value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            if (value._exact is { } exact)
            {
                writer.WriteStartArray("exact");
                foreach (var hash in exact)
                {
                    writer.WriteNumberValue(hash);
                }

                writer.WriteEndArray();
            }
            else
            {
                writer.WriteBase64String("registers", value._registers);
            }

            writer.WriteEndObject();
        }
    }
}
