using System.ComponentModel.DataAnnotations;

namespace EventStream;

/// <summary>The accuracy and memory of <see cref="Aggregates.Percentiles{T}(Func{T, double}, PercentilesOptions, double[])"/>'s sketch.</summary>
public sealed class PercentilesOptions
{
    /// <summary>The default relative accuracy: 1 %.</summary>
    public const double DefaultRelativeAccuracy = 0.01;

    /// <summary>The default number of buckets per sign.</summary>
    public const int DefaultMaxBuckets = 2048;

    /// <summary>The default number of values kept exactly.</summary>
    public const int DefaultExactLimit = 64;

    /// <summary>Gets or sets the relative accuracy α: every quantile is within α·|x| of the exact value x. Greater than 0, less than 1.</summary>
    /// <value>The default value is 0.01 (1 %).</value>
    [Range(1e-6, 0.5)]
    public double RelativeAccuracy { get; set; } = DefaultRelativeAccuracy;

    /// <summary>
    /// Gets or sets the most buckets each sign's store keeps (each a <see langword="long"/> count): the memory bound, about
    /// 8 bytes a bucket per sign. Past it the buckets of the smallest magnitudes are folded together.
    /// </summary>
    /// <value>The default value is 2,048 (at α = 1 %, magnitudes across a ratio of 10^17).</value>
    [Range(16, 1 << 20)]
    public int MaxBuckets { get; set; } = DefaultMaxBuckets;

    /// <summary>Gets or sets up to how many values the sketch keeps the values themselves, so a small window's quantiles are exact (0: never).</summary>
    /// <value>The default value is 64.</value>
    [Range(0, 1 << 16)]
    public int ExactLimit { get; set; } = DefaultExactLimit;

    internal void Validate()
    {
        var problems = new List<string>();
        if (!(RelativeAccuracy is >= 1e-6 and <= 0.5))
        {
            problems.Add($"RelativeAccuracy must be between 1e-6 and 0.5 (was {RelativeAccuracy})");
        }

        if (MaxBuckets is < 16 or > 1 << 20)
        {
            problems.Add($"MaxBuckets must be between 16 and 1048576 (was {MaxBuckets})");
        }

        if (ExactLimit is < 0 or > 1 << 16)
        {
            problems.Add($"ExactLimit must be between 0 and 65536 (was {ExactLimit})");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Bad percentiles options: " + string.Join("; ", problems) + ".");
        }
    }
}
