namespace EventStream.Benchmarks;

/// <summary>
/// Draws key indexes 0..keys-1: with a Zipf law (key k has weight 1 / (k + 1)^exponent, key 0 the densest), or uniform.
/// The one sampler of the benchmarks' workloads.
/// </summary>
public sealed class KeyDistribution
{
    private readonly double[] _cdf;
    private readonly double _total;

    public KeyDistribution(int keys, double exponent, bool uniform = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keys, 1);
        _cdf = new double[keys];
        for (var k = 0; k < keys; k++)
        {
            _total += uniform ? 1.0 : 1.0 / Math.Pow(k + 1, exponent);
            _cdf[k] = _total;
        }
    }

    /// <summary>The next key index.</summary>
    public int Next(Random random)
    {
        var at = Array.BinarySearch(_cdf, random.NextDouble() * _total);
        return Math.Min(at < 0 ? ~at : at, _cdf.Length - 1);
    }
}
