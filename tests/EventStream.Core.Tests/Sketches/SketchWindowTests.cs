namespace EventStream.Tests.Sketches;

/// <summary>Top-k and percentiles through real window stages of each kind, against the exact answer of each window.</summary>
public sealed class SketchWindowTests
{
    private sealed record Load(string Site, string Page, long Ts, double Ms);

    private static List<Load> Loads(int seed, int count)
    {
        var random = new Random(seed);
        var pages = SketchData.Zipf(seed, count, distinct: 400);
        var ms = SketchData.LogNormal(seed, count);
        var events = new List<Load>(count);
        long t = 1_000_000;
        for (var i = 0; i < count; i++)
        {
            t += random.Next(0, 40);
            if (random.Next(200) == 0)
            {
                t += 5_000; // a pause: sessions end
            }

            events.Add(new Load("site-" + random.Next(3), "/p" + pages[i], t, ms[i]));
        }

        return events;
    }

    public static TheoryData<string> Kinds => ["tumbling", "sliding", "session"];

    private static WindowAssigner Assigner(string kind) => kind switch
    {
        "tumbling" => WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)),
        "sliding" => WindowAssigner.Sliding(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2)),
        _ => WindowAssigner.Session(TimeSpan.FromSeconds(2)),
    };

    private static async Task<List<WindowResult<string, TResult>>> RunAsync<TAcc, TResult>(string kind, List<Load> events, IAggregator<Load, TAcc, TResult> aggregate)
    {
        var results = new List<WindowResult<string, TResult>>();
        await using var pipeline = PipelineBuilder.Create<Load>("sketches")
            .Window("w", new WindowOptions<Load, string> { Assigner = Assigner(kind), Key = e => e.Site, Timestamp = e => e.Ts }, aggregate)
            .Sink("out", r => results.Add(r))
            .Build();
        foreach (var e in events)
        {
            await pipeline.WriteAsync(e);
        }

        await pipeline.CompleteAsync();
        pipeline.GetMetrics().Late.Should().Be(0);
        results.Should().NotBeEmpty();
        return results;
    }

    private static List<Load> In<T>(List<Load> events, WindowResult<string, T> r) => [.. events.Where(e => e.Site == r.Key && e.Ts >= r.Start && e.Ts < r.End)];

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Top_k_of_each_window_holds_its_bounds_and_is_exact_where_the_window_fits_the_capacity(string kind)
    {
        var events = Loads(seed: 51, count: 20_000);
        var results = await RunAsync(kind, events, Aggregates.TopK<Load, string>(5, e => e.Page, capacity: 20));

        var exactOnes = 0;
        var pastCapacity = 0;
        foreach (var r in results)
        {
            var window = In(events, r);
            r.Count.Should().Be(window.Count);
            var exact = window.GroupBy(e => e.Page).ToDictionary(g => g.Key, g => (long)g.Count());
            r.Value.Should().HaveCount(Math.Min(5, exact.Count));
            r.Value.Select(e => e.Count).Should().BeInDescendingOrder();
            foreach (var item in r.Value)
            {
                item.Count.Should().BeGreaterThanOrEqualTo(exact.GetValueOrDefault(item.Item));
                (item.Count - item.Error).Should().BeLessThanOrEqualTo(exact.GetValueOrDefault(item.Item));
                item.Error.Should().BeLessThanOrEqualTo(window.Count / 20);
            }

            pastCapacity += exact.Count > 20 ? 1 : 0;
            if (exact.Count <= 20)
            {
                exactOnes++;
                r.Value.Should().OnlyContain(e => e.Error == 0 && e.Count == exact[e.Item]);
                r.Value.Select(e => e.Count).Should().Equal(exact.Values.OrderDescending().Take(5));
            }
        }

        exactOnes.Should().BePositive("some windows hold few pages");
        pastCapacity.Should().BePositive("some windows hold more pages than the capacity");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Percentiles_of_each_window_are_within_one_percent_and_exact_for_small_windows(string kind)
    {
        var events = Loads(seed: 52, count: 20_000);
        var results = await RunAsync(kind, events, Aggregates.Percentiles<Load>(e => e.Ms, 0.5, 0.95, 0.99));

        foreach (var r in results)
        {
            var sorted = In(events, r).Select(e => e.Ms).Order().ToArray();
            r.Count.Should().Be(sorted.Length);
            foreach (var (q, value) in (IEnumerable<KeyValuePair<double, double>>)r.Value)
            {
                var exact = SketchData.ExactQuantile(sorted, q);
                if (sorted.Length <= PercentilesOptions.DefaultExactLimit)
                {
                    value.Should().Be(exact);
                }
                else
                {
                    Math.Abs(value - exact).Should().BeLessThanOrEqualTo((0.01 * exact) + 1e-12, "{0} in [{1}, {2}) of {3}", q, r.Start, r.End, r.Key);
                }
            }
        }
    }
}
