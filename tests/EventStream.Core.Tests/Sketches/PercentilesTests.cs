namespace EventStream.Tests.Sketches;

public sealed class PercentilesTests
{
    private static readonly double[] Quantiles = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

    private static QuantileSketch Sketch(IEnumerable<double> values, PercentilesOptions? options = null)
    {
        var sketch = new QuantileSketch(options);
        foreach (var v in values)
        {
            sketch.Add(v);
        }

        return sketch;
    }

    private static void ShouldBeWithinAlpha(QuantileSketch sketch, double[] values, double alpha)
    {
        var sorted = values.Order().ToArray();
        foreach (var q in Quantiles)
        {
            var exact = SketchData.ExactQuantile(sorted, q);
            var estimate = sketch.Quantile(q);
            Math.Abs(estimate - exact).Should().BeLessThanOrEqualTo((alpha * Math.Abs(exact)) + 1e-12, "q = {0}: exact {1}, estimate {2}", q, exact, estimate);
        }
    }

    [Fact]
    public void Up_to_the_exact_limit_the_quantiles_are_the_exact_values()
    {
        var values = SketchData.LogNormal(seed: 1, count: 64);
        var sketch = Sketch(values);

        sketch.IsExact.Should().BeTrue();
        var sorted = values.Order().ToArray();
        foreach (var q in Quantiles)
        {
            sketch.Quantile(q).Should().Be(SketchData.ExactQuantile(sorted, q));
        }

        sketch.Add(1);
        sketch.IsExact.Should().BeFalse("the 65th value turns it into a sketch");
    }

    [Theory]
    [InlineData(1, 0.01)]
    [InlineData(2, 0.01)]
    [InlineData(3, 0.05)]
    [InlineData(4, 0.001)]
    public void On_lognormal_values_every_quantile_is_within_alpha_of_the_exact_one(int seed, double alpha)
    {
        // (2,048 buckets span a ratio of γ^2048: 1e17 at 1 %, only 60 at 0.1 %, so the finest accuracy gets more.)
        var values = SketchData.LogNormal(seed, count: 100_000);
        ShouldBeWithinAlpha(Sketch(values, new PercentilesOptions { RelativeAccuracy = alpha, MaxBuckets = 1 << 14 }), values, alpha);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    public void On_bimodal_values_every_quantile_is_within_one_percent_of_the_exact_one(int seed)
    {
        var values = SketchData.Bimodal(seed, count: 100_000);
        ShouldBeWithinAlpha(Sketch(values), values, 0.01);
    }

    [Fact]
    public void Negative_and_zero_values_are_counted_zero_exactly_and_negatives_within_alpha()
    {
        var values = SketchData.Signed(seed: 7, count: 50_000);
        values.Should().Contain(0).And.Contain(v => v < 0).And.Contain(v => v > 0);
        var sketch = Sketch(values);

        ShouldBeWithinAlpha(sketch, values, 0.01);
        var sorted = values.Order().ToArray();
        var zeroRank = (Array.IndexOf(sorted, 0.0) + 5) / (double)(sorted.Length - 1);
        sketch.Quantile(zeroRank).Should().Be(0, "zero has a bucket of its own");
        sketch.Quantile(0).Should().Be(sorted[0], "the minimum is kept exactly");
        sketch.Quantile(1).Should().Be(sorted[^1], "so is the maximum");
    }

    [Fact]
    public void Memory_is_bounded_by_the_bucket_count_and_only_the_lowest_quantiles_lose_accuracy_past_it()
    {
        // Magnitudes over 1e-6 .. 1e6: about 1,400 buckets at 1 %; 256 allowed keep a ratio of γ^256 ≈ 167 below the
        // maximum (1e6 down to ~6,000), so the quantiles above ~0.78 keep the guarantee and the median does not.
        var random = new Random(8);
        var values = Enumerable.Range(0, 50_000).Select(_ => Math.Pow(10, -6 + (12 * random.NextDouble()))).ToArray();
        var options = new PercentilesOptions { MaxBuckets = 256 };
        var sketch = Sketch(values, options);

        var state = new System.Buffers.ArrayBufferWriter<byte>();
        sketch.WriteTo(state);
        state.WrittenCount.Should().BeLessThan(60 + (256 * 3), "at most 256 bucket counts of up to 3 bytes are written");
        var sorted = values.Order().ToArray();
        foreach (var q in new[] { 0.85, 0.9, 0.95, 0.99, 1 })
        {
            var exact = SketchData.ExactQuantile(sorted, q);
            Math.Abs(sketch.Quantile(q) - exact).Should().BeLessThanOrEqualTo(0.01 * exact * (1 + 1e-9));
        }

        sketch.Quantile(0.5).Should().BeGreaterThan(1_000, "the median's bucket was folded into the lowest kept one");
    }

    [Theory]
    [InlineData(41)]
    [InlineData(42)]
    [InlineData(43)]
    [InlineData(44)]
    public void Merged_in_any_order_over_any_slicing_a_sketch_gives_exactly_the_result_of_one_sketch_of_all_values(int seed)
    {
        var random = new Random(seed);
        var values = seed % 2 == 0 ? SketchData.LogNormal(seed, 30_000) : SketchData.Signed(seed, 30_000);
        var whole = Sketch(values);
        var expected = Quantiles.Select(whole.Quantile).ToArray();
        ShouldBeWithinAlpha(whole, values, 0.01);
        for (var round = 0; round < 20; round++)
        {
            var parts = SketchData.Slices(random, values, maxSlices: 200).Select(s => Sketch(s)).ToList();
            var merged = SketchData.MergeRandomly(random, parts, (a, b) =>
            {
                var before = Quantiles.Select(b.Quantile).ToArray();
                a.Merge(b);
                Quantiles.Select(b.Quantile).Should().Equal(before, "merging must not change the merged-from sketch");
                return a;
            });

            merged.Count.Should().Be(values.Length);
            Quantiles.Select(merged.Quantile).Should().Equal(expected);
        }
    }

    [Fact]
    public void Small_windows_merged_from_small_slices_stay_exact()
    {
        var random = new Random(9);
        var values = SketchData.Bimodal(seed: 9, count: 60);
        var merged = SketchData.MergeRandomly(random, SketchData.Slices(random, values, 20).Select(s => Sketch(s)).ToList(), (a, b) =>
        {
            a.Merge(b);
            return a;
        });

        merged.IsExact.Should().BeTrue();
        var sorted = values.Order().ToArray();
        Quantiles.Select(merged.Quantile).Should().Equal(Quantiles.Select(q => SketchData.ExactQuantile(sorted, q)));
    }

    [Fact]
    public void The_aggregate_reports_each_quantile_asked_for_in_order_and_refuses_bad_input()
    {
        var aggregate = Aggregates.Percentiles<double>(v => v, 0.5, 0.95, 0.99);
        var acc = aggregate.Create();
        for (var i = 1; i <= 100; i++)
        {
            acc = aggregate.Add(acc, i);
        }

        var result = aggregate.GetResult(acc);
        result.Keys.Should().Equal(0.5, 0.95, 0.99);
        result[0.5].Should().BeApproximately(50, 0.5);
        result[0.95].Should().BeApproximately(95, 0.95);
        aggregate.GetResult(aggregate.Create())[0.5].Should().Be(double.NaN, "an empty window has no quantiles");

        var nan = () => aggregate.Add(aggregate.Create(), double.NaN);
        nan.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*finite*");
        var none = () => Aggregates.Percentiles<double>(v => v);
        none.Should().Throw<ArgumentException>().WithMessage("*at least one quantile*");
        var percent = () => Aggregates.Percentiles<double>(v => v, 95);
        percent.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*between 0 and 1*");
        var alpha = () => Aggregates.Percentiles<double>(v => v, new PercentilesOptions { RelativeAccuracy = 0, MaxBuckets = 1 }, 0.5);
        alpha.Should().Throw<ArgumentException>().WithMessage("*RelativeAccuracy*MaxBuckets*");
        var mixed = () => new QuantileSketch().Merge(new QuantileSketch(new PercentilesOptions { RelativeAccuracy = 0.02 }));
        mixed.Should().Throw<ArgumentException>().WithMessage("*α = 0.02*");
    }
}
