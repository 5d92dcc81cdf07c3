namespace EventStream.Tests.Sketches;

public sealed class TopKTests
{
    private static TopKSummary<int> Summarise(IEnumerable<int> items, int capacity)
    {
        var summary = new TopKSummary<int>(capacity);
        foreach (var item in items)
        {
            summary.Add(item);
        }

        return summary;
    }

    private static Dictionary<int, long> Exact(IEnumerable<int> items) => items.GroupBy(i => i).ToDictionary(g => g.Key, g => (long)g.Count());

    /// <summary>Every count within its stated error of the truth, every error within the bound, the bound within n / capacity.</summary>
    private static void ShouldHoldItsBounds(TopKSummary<int> summary, Dictionary<int, long> exact, long n)
    {
        summary.Total.Should().Be(n);
        summary.ErrorBound.Should().BeLessThanOrEqualTo(n / summary.Capacity, "the bound of a Space-Saving summary is n / capacity");
        foreach (var entry in summary.Top(2 * summary.Capacity))
        {
            var truth = exact.GetValueOrDefault(entry.Item);
            entry.Count.Should().BeGreaterThanOrEqualTo(truth, "a count never underestimates (item {0})", entry.Item);
            (entry.Count - entry.Error).Should().BeLessThanOrEqualTo(truth, "count - error is a lower bound (item {0})", entry.Item);
            entry.Error.Should().BeLessThanOrEqualTo(summary.ErrorBound);
        }

        // An item not monitored occurred at most ErrorBound times.
        var monitored = summary.Top(2 * summary.Capacity).Select(e => e.Item).ToHashSet();
        exact.Where(e => !monitored.Contains(e.Key)).Should().OnlyContain(e => e.Value <= summary.ErrorBound);
    }

    /// <summary>Each true top-k item whose count clears the (k+1)-th true count by more than the bound is reported in the top k.</summary>
    private static void ShouldReportTheClearTopK(IReadOnlyList<TopKItem<int>> top, Dictionary<int, long> exact, int k, long bound)
    {
        var ranked = exact.OrderByDescending(e => e.Value).ToList();
        var next = ranked.Count > k ? ranked[k].Value : 0;
        var clear = ranked.Take(k).Where(e => e.Value > next + bound).Select(e => e.Key).ToList();
        clear.Should().NotBeEmpty("the data has clear heavy hitters");
        top.Select(e => e.Item).Should().Contain(clear);
    }

    [Fact]
    public void While_a_window_holds_at_most_capacity_distinct_items_the_counts_are_exact_most_frequent_first()
    {
        var items = SketchData.Uniform(seed: 1, count: 5_000, distinct: 100);
        var summary = Summarise(items, capacity: 100);

        summary.IsExact.Should().BeTrue();
        var exact = Exact(items);
        var top = summary.Top(10);
        top.Should().HaveCount(10).And.OnlyContain(e => e.Error == 0 && e.Count == exact[e.Item]);
        top.Select(e => e.Count).Should().BeInDescendingOrder();
        top.Select(e => e.Count).Should().Equal(exact.Values.OrderDescending().Take(10));
        summary.Top(1_000).Should().HaveCount(100, "every item is monitored");
    }

    [Theory]
    [InlineData(11, 1.1)]
    [InlineData(12, 1.3)]
    [InlineData(13, 0.9)]
    public void On_zipf_items_every_count_is_within_its_error_and_the_true_top_k_are_reported(int seed, double exponent)
    {
        var items = SketchData.Zipf(seed, count: 200_000, distinct: 20_000, exponent);
        var summary = Summarise(items, capacity: 100);

        summary.IsExact.Should().BeFalse();
        var exact = Exact(items);
        ShouldHoldItsBounds(summary, exact, items.Length);
        ShouldReportTheClearTopK(summary.Top(10), exact, 10, summary.ErrorBound);
    }

    [Fact]
    public void On_uniform_items_past_capacity_the_counts_still_hold_their_bounds()
    {
        // No item clears the bound here (every count is about n / distinct): only the bounds are promised.
        var items = SketchData.Uniform(seed: 2, count: 100_000, distinct: 5_000);
        var summary = Summarise(items, capacity: 100);

        ShouldHoldItsBounds(summary, Exact(items), items.Length);
        summary.Top(10).Should().OnlyContain(e => e.Error > 0, "past capacity no count of uniform items is certain");
    }

    [Fact]
    public void A_weighted_summary_reports_the_heaviest_items_within_the_bound_of_the_total_weight()
    {
        var random = new Random(3);
        var items = SketchData.Zipf(seed: 3, count: 50_000, distinct: 5_000);
        var weights = items.Select(_ => (long)random.Next(0, 1_000)).ToArray();
        var summary = new TopKSummary<int>(200);
        var exact = new Dictionary<int, long>();
        for (var i = 0; i < items.Length; i++)
        {
            summary.Add(items[i], weights[i]);
            exact[items[i]] = exact.GetValueOrDefault(items[i]) + weights[i];
        }

        foreach (var e in exact.Where(e => e.Value == 0).ToList())
        {
            exact.Remove(e.Key); // weight 0 adds nothing
        }

        ShouldHoldItsBounds(summary, exact, weights.Sum());
        ShouldReportTheClearTopK(summary.Top(5), exact, 5, summary.ErrorBound);
        var negative = () => summary.Add(1, -1);
        negative.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Theory]
    [InlineData(21)]
    [InlineData(22)]
    [InlineData(23)]
    [InlineData(24)]
    [InlineData(25)]
    public void Merged_in_any_order_over_any_slicing_a_summary_keeps_its_bounds_and_finds_the_heavy_hitters(int seed)
    {
        var random = new Random(seed);
        var items = SketchData.Zipf(seed, count: 100_000, distinct: 10_000);
        var exact = Exact(items);
        for (var round = 0; round < 10; round++)
        {
            var parts = SketchData.Slices(random, items, maxSlices: 40).Select(s => Summarise(s, 100)).ToList();
            var merged = SketchData.MergeRandomly(random, parts, (a, b) =>
            {
                var before = b.Top(b.Capacity);
                a.Merge(b);
                b.Top(b.Capacity).Should().Equal(before, "merging must not change the merged-from summary");
                return a;
            });

            ShouldHoldItsBounds(merged, exact, items.Length);
            ShouldReportTheClearTopK(merged.Top(10), exact, 10, merged.ErrorBound);
        }
    }

    [Theory]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    public void While_the_union_fits_the_capacity_merging_in_any_order_gives_the_same_exact_result(int seed)
    {
        var random = new Random(seed);
        var items = SketchData.Zipf(seed, count: 20_000, distinct: 100);
        var expected = Summarise(items, 100).Top(10);
        expected.Should().OnlyContain(e => e.Error == 0);
        for (var round = 0; round < 20; round++)
        {
            var parts = SketchData.Slices(random, items, maxSlices: 60).Select(s => Summarise(s, 100)).ToList();
            var merged = SketchData.MergeRandomly(random, parts, (a, b) =>
            {
                a.Merge(b);
                return a;
            });
            merged.Top(10).Should().Equal(expected);
        }
    }

    [Fact]
    public void A_union_past_twice_the_capacity_is_cut_back_to_the_largest_counts_and_the_largest_dropped_becomes_the_bound()
    {
        // Three exact summaries of 10 disjoint items each (counts 1..30, shuffled): the union of 30 passes 2 × 10.
        var random = new Random(7);
        var counts = Enumerable.Range(1, 30).OrderBy(_ => random.Next()).ToArray();
        var parts = Enumerable.Range(0, 3).Select(p =>
        {
            var summary = new TopKSummary<int>(10);
            for (var i = p * 10; i < (p + 1) * 10; i++)
            {
                summary.Add(i, counts[i]);
            }

            return summary;
        }).ToList();

        var merged = parts[0];
        merged.Merge(parts[1]);
        merged.Count.Should().Be(20, "up to twice the capacity a merge keeps the whole union");
        merged.IsExact.Should().BeTrue();
        merged.Merge(parts[2]);

        merged.Count.Should().Be(10);
        merged.ErrorBound.Should().Be(20, "the largest count dropped");
        merged.Top(10).Select(e => e.Count).Should().Equal(Enumerable.Range(21, 10).Reverse().Select(c => (long)c));
        merged.Top(10).Should().OnlyContain(e => e.Error == 0 && e.Item == Array.IndexOf(counts, (int)e.Count));
    }

    [Fact]
    public void Capacity_and_k_are_checked_and_a_null_item_is_refused()
    {
        var zero = () => Aggregates.TopK<string, string>(0, s => s);
        var small = () => Aggregates.TopK<string, string>(10, s => s, capacity: 5);
        zero.Should().Throw<ArgumentOutOfRangeException>();
        small.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*at least 10*");
        Aggregates.TopK<string, string>(10, s => s).Create().Capacity.Should().Be(100);
        Aggregates.TopK<string, string>(50, s => s).Create().Capacity.Should().Be(500);

        var aggregate = Aggregates.TopK<string?, string>(3, s => s!);
        var nullItem = () => aggregate.Add(aggregate.Create(), null);
        nullItem.Should().Throw<ArgumentException>().WithMessage("*returned null*");
        var other = () => new TopKSummary<int>(10).Merge(new TopKSummary<int>(20));
        other.Should().Throw<ArgumentException>().WithMessage("*capacity 20*capacity 10*");
    }
}
