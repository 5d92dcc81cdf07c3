using EventStream.Windowing;

namespace EventStream.Tests.Windowing;

public sealed record Ev(string Key, long Ts, double Value);

/// <summary>What the window engine must do, checked against the brute-force reference.</summary>
public sealed class WindowEngineTests
{
    private static WindowEngine<Ev, string, TAcc, TResult> CreateStore<TAcc, TResult>(WindowAssigner assigner, IAggregator<Ev, TAcc, TResult> aggregate, long outOfOrderness, long lateness) =>
        new(assigner, aggregate, outOfOrderness, lateness);


    private static readonly (string Name, Func<IAggregator<Ev, object, double>> Create, Func<IReadOnlyList<double>, double> Reference)[] AllAggregates =
    [
        ("count", () => Box(EventStream.Aggregates.Count<Ev>(), c => c), v => v.Count),
        ("sum", () => Box(EventStream.Aggregates.Sum<Ev>(e => e.Value), s => s), v => v.Sum()),
        ("avg", () => Box(EventStream.Aggregates.Average<Ev>(e => e.Value), a => a), v => v.Average()),
        ("min", () => Box(EventStream.Aggregates.Min<Ev>(e => e.Value), m => m), v => v.Min()),
        ("max", () => Box(EventStream.Aggregates.Max<Ev>(e => e.Value), m => m), v => v.Max()),
        ("distinct", () => Box(EventStream.Aggregates.DistinctCount<Ev, double>(e => e.Value), d => d), v => v.Distinct().Count()),
    ];

    public static TheoryData<string, string, int> Cases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var kind in new[] { "tumbling", "sliding", "session" })
        {
            foreach (var (name, _, _) in AllAggregates)
            {
                foreach (var seed in new[] { 1, 2, 3 })
                {
                    data.Add(kind, name, seed);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_the_brute_force_reference_on_out_of_order_and_late_input(string kind, string aggregate, int seed)
    {
        var random = new Random(seed * 7919 + kind.Length * 31 + aggregate.Length);
        var (size, slide, gap) = (100L, kind == "sliding" ? 30L : 100L, 40L);
        var ooo = new long[] { 0, 5, 50 }[random.Next(3)];
        var lateness = new long[] { 0, 20, 150 }[random.Next(3)];
        var agg = AllAggregates.Single(a => a.Name == aggregate);
        WindowAssigner assigner = kind switch
        {
            "tumbling" => WindowAssigner.Tumbling(TimeSpan.FromMilliseconds(size)),
            "sliding" => WindowAssigner.Sliding(TimeSpan.FromMilliseconds(size), TimeSpan.FromMilliseconds(slide)),
            _ => WindowAssigner.Session(TimeSpan.FromMilliseconds(gap)),
        };
        var engine = CreateStore(assigner, agg.Create(), ooo, lateness);
        var reference = new ReferenceWindows(kind, size, slide, gap, ooo, lateness, agg.Reference);
        var actual = new List<WindowResult<string, double>>();
        var late = new List<Ev>();

        long clock = 1_000;
        for (var i = 0; i < 600; i++)
        {
            clock += random.Next(0, 12);
            // Mostly in order, some out of order, a few far behind (late), a few negative-looking early times.
            var ts = random.Next(10) switch
            {
                < 6 => clock,
                < 8 => clock - random.Next(0, 60),
                8 => clock - random.Next(60, 400),
                _ => clock + random.Next(0, 30),
            };
            var e = new Ev($"k{random.Next(3)}", ts, random.Next(0, 8));
            reference.Add(e.Key, e.Ts, e.Value);
            if (!engine.Add(e.Key, e.Ts, e, actual))
            {
                late.Add(e);
            }

            engine.Watermark.Should().Be(reference.Watermark, "the watermark after element {0}", i);
        }

        reference.Complete();
        engine.Complete(actual);

        late.Select(e => (e.Key, e.Ts)).Should().Equal(reference.Late, "the same elements are late, in order");
        actual.Select(r => (r.Key, r.Start, r.End, Math.Round(r.Value, 9), r.Count, r.Firing, r.FiringNumber))
            .Should().BeEquivalentTo(reference.Results.Select(r => (r.Key, r.Start, r.End, Math.Round(r.Value, 9), r.Count, r.Firing, r.Number)));
        engine.OpenWindows.Should().Be(0, "completion purges every window");
    }

    [Fact]
    public void Tumbling_windows_fire_once_when_the_watermark_passes_their_end()
    {
        var engine = Count(WindowAssigner.Tumbling(TimeSpan.FromMilliseconds(10)), ooo: 0, lateness: 0);
        var output = new List<WindowResult<string, long>>();

        engine.Add("a", 1, new Ev("a", 1, 0), output);
        engine.Add("a", 9, new Ev("a", 9, 0), output);
        output.Should().BeEmpty("W = 9 - 0 - 1 = 8 < end - 1 = 9");
        engine.Add("a", 10, new Ev("a", 10, 0), output);

        output.Should().ContainSingle().Which.Should().Be(new WindowResult<string, long>("a", 0, 10, 2, 2, WindowFiring.OnTime, 1));
    }

    [Fact]
    public void An_element_within_the_allowed_lateness_fires_its_window_again_at_once()
    {
        var engine = Count(WindowAssigner.Tumbling(TimeSpan.FromMilliseconds(10)), ooo: 0, lateness: 5);
        var output = new List<WindowResult<string, long>>();
        engine.Add("a", 3, new Ev("a", 3, 0), output);
        engine.Add("a", 12, new Ev("a", 12, 0), output); // W = 11: [0,10) fires
        output.Clear();

        engine.Add("a", 4, new Ev("a", 4, 0), output).Should().BeTrue("9 + 5 > 11: not late yet");

        output.Should().ContainSingle().Which.Should().Be(new WindowResult<string, long>("a", 0, 10, 2, 2, WindowFiring.Late, 2));
        engine.Add("a", 15, new Ev("a", 15, 0), output); // W = 14 >= 9 + 5: purged
        engine.Add("a", 5, new Ev("a", 5, 0), output).Should().BeFalse("the window is late now");
    }

    [Fact]
    public void Sessions_merge_transitively_and_fire_as_the_cover()
    {
        var engine = Count(WindowAssigner.Session(TimeSpan.FromMilliseconds(10)), ooo: 100, lateness: 0);
        var output = new List<WindowResult<string, long>>();
        engine.Add("u", 0, new Ev("u", 0, 0), output);   // [0,10)
        engine.Add("u", 25, new Ev("u", 25, 0), output); // [25,35)
        engine.Add("u", 12, new Ev("u", 12, 0), output); // [12,22) touches neither... 22 < 25
        engine.Add("u", 10, new Ev("u", 10, 0), output); // [10,20) touches [0,10) and [12,22)
        engine.Add("u", 22, new Ev("u", 22, 0), output); // [22,32) touches [12,22)->merged and [25,35)
        engine.Complete(output);

        output.Should().ContainSingle().Which.Should().Be(new WindowResult<string, long>("u", 0, 35, 5, 5, WindowFiring.OnTime, 1));
    }

    [Fact]
    public void Sliding_windows_assign_an_element_to_every_window_that_holds_it()
    {
        var engine = Count(WindowAssigner.Sliding(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(5)), ooo: 0, lateness: 0);
        var output = new List<WindowResult<string, long>>();
        engine.Add("a", 7, new Ev("a", 7, 0), output);
        engine.Complete(output);

        output.Select(r => (r.Start, r.End)).Should().BeEquivalentTo(new[] { (0L, 10L), (5L, 15L) });
    }

    [Fact]
    public void Negative_timestamps_fall_into_the_right_windows()
    {
        var engine = Count(WindowAssigner.Tumbling(TimeSpan.FromMilliseconds(10)), ooo: 0, lateness: 0);
        var output = new List<WindowResult<string, long>>();
        engine.Add("a", -3, new Ev("a", -3, 0), output);
        engine.Complete(output);

        output.Should().ContainSingle().Which.Start.Should().Be(-10);
    }

    [Fact]
    public void Early_firings_emit_in_progress_values_only_for_windows_that_changed()
    {
        var engine = Count(WindowAssigner.Tumbling(TimeSpan.FromMilliseconds(100)), ooo: 0, lateness: 0);
        var output = new List<WindowResult<string, long>>();
        engine.Add("a", 1, new Ev("a", 1, 0), output);
        engine.FireEarly(output);
        engine.FireEarly(output);
        engine.Add("a", 2, new Ev("a", 2, 0), output);
        engine.FireEarly(output);
        engine.Complete(output);

        output.Select(r => (r.Value, r.Firing, r.FiringNumber)).Should().Equal(
            (1L, WindowFiring.Early, 1),
            (2L, WindowFiring.Early, 2),
            (2L, WindowFiring.OnTime, 3));
    }

    [Fact]
    public void State_is_purged_so_memory_stays_bounded_on_an_endless_stream()
    {
        var engine = Count(WindowAssigner.Sliding(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(10)), ooo: 5, lateness: 20);
        var output = new List<WindowResult<string, long>>();
        for (var t = 0; t < 100_000; t++)
        {
            engine.Add($"k{t % 10}", t, new Ev("", t, 0), output);
        }

        engine.OpenWindows.Should().BeLessThan(10 * 15, "only the windows around the watermark are kept");
    }

    private static WindowEngine<Ev, string, long, long> Count(WindowAssigner assigner, long ooo, long lateness) =>
        CreateStore(assigner, EventStream.Aggregates.Count<Ev>(), ooo, lateness);

    private static IAggregator<Ev, object, double> Box<TAcc, TResult>(IAggregator<Ev, TAcc, TResult> inner, Func<TResult, double> toDouble) =>
        EventStream.Aggregates.Create<Ev, object, double>(
            () => inner.Create()!,
            (acc, e) => inner.Add((TAcc)acc, e)!,
            (l, r) => inner.Merge((TAcc)l, (TAcc)r)!,
            acc => toDouble(inner.GetResult((TAcc)acc)));
}
