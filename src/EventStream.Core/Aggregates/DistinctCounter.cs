using System.Numerics;
using System.Runtime.InteropServices;

namespace EventStream.Aggregates;

/// <summary>
/// Counts distinct values: exactly (a set of 64-bit value hashes) up to <see cref="ExactLimit"/> values, then with a
/// HyperLogLog sketch of 2^14 registers read with Ertl's improved estimator (the one Redis uses), which needs no
/// bias tables and has a standard error of about 0.8 % at every cardinality. Mergeable, for session and sliding windows.
/// </summary>
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

    /// <summary>The 64-bit hash a value is counted by: strings by their characters, other values by their hash code, then mixed.</summary>
    internal static ulong Hash<TValue>(TValue value)
    {
        switch (value)
        {
            case null:
                return Mix(0x2545F4914F6CDD1DUL);
            case string s:
                {
                    var h = 14695981039346656037UL;
                    foreach (var b in MemoryMarshal.AsBytes(s.AsSpan()))
                    {
                        h = (h ^ b) * 1099511628211UL;
                    }

                    return Mix(h);
                }

            case long l:
                return Mix((ulong)l);
            case int i:
                return Mix((ulong)(long)i);
            default:
                return Mix((ulong)(uint)EqualityComparer<TValue>.Default.GetHashCode(value));
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
