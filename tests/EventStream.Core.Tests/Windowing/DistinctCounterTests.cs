using EventStream.Aggregates;

namespace EventStream.Tests.Windowing;

public class DistinctCounterTests
{
    [Theory]
    [InlineData(5_000)]
    [InlineData(50_000)]
    [InlineData(1_000_000)]
    public void The_distinct_count_is_exact_for_small_sets_and_within_two_percent_for_large_ones(int n)
    {
        var small = new DistinctCounter();
        for (var i = 0; i < 1_000; i++)
        {
            small.Add($"user-{i % 700}");
        }

        small.IsExact.Should().BeTrue();
        small.Count.Should().Be(700);

        var large = new DistinctCounter();
        for (var i = 0; i < n; i++)
        {
            large.Add($"user-{i}");
            large.Add($"user-{i / 2}");
        }

        large.IsExact.Should().BeFalse("{0} values are past the exact range", n);
        ((double)large.Count).Should().BeApproximately(n, n * 0.02, "HyperLogLog with 2^14 registers at n = {0}", n);
    }

    [Fact]
    public void Merging_distinct_counters_counts_the_union()
    {
        var a = new DistinctCounter();
        var b = new DistinctCounter();
        for (var i = 0; i < 30_000; i++)
        {
            a.Add(i);
            b.Add(i + 10_000);
        }

        var exact = new DistinctCounter();
        exact.Add(1);
        a.Merge(b);
        a.Merge(exact);

        ((double)a.Count).Should().BeApproximately(40_000, 800);
        b.Count.Should().BeInRange(29_000, 31_000, "merging must not change the merged-from counter");
    }

}
