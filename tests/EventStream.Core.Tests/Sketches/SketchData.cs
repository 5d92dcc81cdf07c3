namespace EventStream.Tests.Sketches;

/// <summary>Seeded random data for the sketch tests: Zipf and uniform items, lognormal and bimodal values.</summary>
internal static class SketchData
{
    /// <summary><paramref name="count"/> items from 0..<paramref name="distinct"/>-1, Zipf with exponent <paramref name="exponent"/> (item 0 most frequent).</summary>
    public static int[] Zipf(int seed, int count, int distinct, double exponent = 1.1)
    {
        var cumulative = new double[distinct];
        double sum = 0;
        for (var i = 0; i < distinct; i++)
        {
            sum += 1 / Math.Pow(i + 1, exponent);
            cumulative[i] = sum;
        }

        var random = new Random(seed);
        var items = new int[count];
        for (var i = 0; i < count; i++)
        {
            var at = Array.BinarySearch(cumulative, random.NextDouble() * sum);
            items[i] = Math.Min(at < 0 ? ~at : at, distinct - 1);
        }

        return items;
    }

    public static int[] Uniform(int seed, int count, int distinct)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => random.Next(distinct))];
    }

    /// <summary>Lognormal: e^(μ + σ·N(0, 1)), page-load times around e^μ ms.</summary>
    public static double[] LogNormal(int seed, int count, double mu = 5.5, double sigma = 1.0)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => Math.Exp(mu + (sigma * Normal(random))))];
    }

    /// <summary>Two modes: 70 % around 40 (cache hits), 30 % around 900 (misses).</summary>
    public static double[] Bimodal(int seed, int count)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => random.NextDouble() < 0.7 ? Math.Abs(40 + (5 * Normal(random))) : 900 + (120 * Normal(random)))];
    }

    /// <summary>Negative, zero and positive values: temperatures, balance changes.</summary>
    public static double[] Signed(int seed, int count)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => random.Next(10) == 0 ? 0 : Math.Round(100 * Normal(random), random.Next(4)))];
    }

    /// <summary>The exact quantile as the sketch defines it: the value of rank floor(q·(n − 1)) in sorted order.</summary>
    public static double ExactQuantile(double[] sorted, double q) => sorted[(int)Math.Floor(q * (sorted.Length - 1))];

    /// <summary>The input cut into 1..<paramref name="maxSlices"/> contiguous slices of random sizes.</summary>
    public static List<T[]> Slices<T>(Random random, T[] input, int maxSlices)
    {
        var cuts = Enumerable.Range(0, random.Next(1, maxSlices)).Select(_ => random.Next(input.Length + 1)).Append(0).Append(input.Length).Distinct().Order().ToArray();
        return [.. cuts.Zip(cuts.Skip(1)).Select(c => input[c.First..c.Second])];
    }

    /// <summary>Merges the parts in a random order and a random tree shape (each merge takes two random parts).</summary>
    public static TAcc MergeRandomly<TAcc>(Random random, List<TAcc> parts, Func<TAcc, TAcc, TAcc> merge)
    {
        var pool = new List<TAcc>(parts);
        while (pool.Count > 1)
        {
            var i = random.Next(pool.Count);
            var left = pool[i];
            pool.RemoveAt(i);
            var j = random.Next(pool.Count);
            pool[j] = merge(left, pool[j]);
        }

        return pool[0];
    }

    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
