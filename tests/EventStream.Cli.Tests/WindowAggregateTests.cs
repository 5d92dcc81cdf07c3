using static EventStream.Cli.Tests.CliHarness;

namespace EventStream.Cli.Tests;

/// <summary>Each window kind × each aggregate on one input, with results computed by hand (key "/a", value data.v).</summary>
public sealed class WindowAggregateTests : IDisposable
{
    private readonly CliHarness _cli = new();

    // Tumbling 10 s. W after each event: 999, 4999, 8999, 11999 (fires [0,10000)), 14999, 30999 (fires [10000,20000));
    // completion fires [30000,40000).
    private static readonly string[] TumblingInput = [Ev(1000, "4"), Ev(5000, "2.5"), Ev(9000, "4"), Ev(12000, "-2"), Ev(15000, "10"), Ev(31000, "7")];

    // Sliding 10 s every 5 s: t=1000 → [-5000,5000) [0,10000); 6000 → [0,10000) [5000,15000); 7000 → the same two;
    // 12000 → [5000,15000) [10000,20000); 30000 → [25000,35000) [30000,40000).
    // W: 999, 5999 (fires [-5000,5000)), 6999, 11999 (fires [0,10000)), 29999 (fires [5000,15000), [10000,20000)); end.
    private static readonly string[] SlidingInput = [Ev(1000, "4"), Ev(6000, "2.5"), Ev(7000, "4"), Ev(12000, "4"), Ev(30000, "-2")];

    // Session gap 5 s: [1000,6000) ∪ [3000,8000) ∪ [7000,12000) = [1000,12000); 20000 opens [20000,25000) and W = 19999
    // fires [1000,12000); completion fires [20000,25000).
    private static readonly string[] SessionInput = [Ev(1000, "4"), Ev(3000, "2.5"), Ev(7000, "4"), Ev(20000, "-2")];

    /// <summary>
    /// Per window kind: the window, its input, the summary (read, blank, windowed, late, dead-lettered, results), the
    /// windows (start, end, count) in the order they fire, and per aggregate the value of each of those windows.
    /// </summary>
    private static readonly (string Window, string[] Input, (long, long, long, long, long, long) Summary, (long Start, long End, long Count)[] Windows, (string Agg, string[] Values)[] Aggregates)[] KindsOfWindow =
    [
        (
            "tumbling:10s",
            TumblingInput,
            (6L, 0L, 6L, 0L, 0L, 3L),
            [(0, 10000, 3), (10000, 20000, 2), (30000, 40000, 1)],
            [
                ("count", ["3", "2", "1"]),
                ("sum:data.v", ["10.5", "8", "7"]),
                ("avg:data.v", ["3.5", "4", "7"]),
                ("min:data.v", ["2.5", "-2", "7"]),
                ("max:data.v", ["4", "10", "7"]),
                ("distinct:data.v", ["2", "2", "1"]),
            ]),
        (
            "sliding:10s:5s",
            SlidingInput,
            (5L, 0L, 5L, 0L, 0L, 6L),
            [(-5000, 5000, 1), (0, 10000, 3), (5000, 15000, 3), (10000, 20000, 1), (25000, 35000, 1), (30000, 40000, 1)],
            [
                ("count", ["1", "3", "3", "1", "1", "1"]),
                ("sum:data.v", ["4", "10.5", "10.5", "4", "-2", "-2"]),
                ("avg:data.v", ["4", "3.5", "3.5", "4", "-2", "-2"]),
                ("min:data.v", ["4", "2.5", "2.5", "4", "-2", "-2"]),
                ("max:data.v", ["4", "4", "4", "4", "-2", "-2"]),
                ("distinct:data.v", ["1", "2", "2", "1", "1", "1"]),
            ]),
        (
            "session:5s",
            SessionInput,
            (4L, 0L, 4L, 0L, 0L, 2L),
            [(1000, 12000, 3), (20000, 25000, 1)],
            [
                ("count", ["3", "1"]),
                ("sum:data.v", ["10.5", "-2"]),
                ("avg:data.v", ["3.5", "-2"]),
                ("min:data.v", ["2.5", "-2"]),
                ("max:data.v", ["4", "-2"]),
                ("distinct:data.v", ["2", "1"]),
            ]),
    ];

    /// <summary>Each window kind × each aggregate: the window, the aggregate and the result lines expected, in order.</summary>
    public static TheoryData<string, string, string[]> Kinds()
    {
        var data = new TheoryData<string, string, string[]>();
        foreach (var (window, _, _, windows, aggregates) in KindsOfWindow)
        {
            foreach (var (agg, values) in aggregates)
            {
                values.Should().HaveSameCount(windows, $"{window} {agg} needs one value per window");
                data.Add(window, agg, [.. windows.Zip(values, (w, value) => Result("/a", w.Start, w.End, value, w.Count))]);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Tumbling_sliding_and_session_windows(string window, string agg, string[] expected)
    {
        var (_, input, summary, _, _) = KindsOfWindow.Single(k => k.Window == window);

        var run = await _cli.RunAsync(input, window, "data.url", agg);

        run.ShouldSucceed();
        run.Output.Should().Equal(expected);
        run.Late.Should().BeEmpty();
        run.DeadLetters.Should().BeEmpty();
        run.Summary.Should().Be(summary);
    }

    [Fact]
    public async Task Durations_in_every_unit_give_the_same_windows()
    {
        string[] input = [Ev(1000), Ev(59_000), Ev(61_000)];
        foreach (var size in new[] { "60000ms", "60s", "1m" })
        {
            var run = await _cli.RunAsync(input, $"tumbling:{size}", "data.url", "count");
            run.ShouldSucceed();
            run.Output.Should().Equal(Result("/a", 0, 60000, "2", 2), Result("/a", 60000, 120000, "1", 1));
        }

        var hour = await _cli.RunAsync([Ev(1000), Ev(3_600_000)], "tumbling:1h", "data.url", "count");
        hour.Output.Should().Equal(Result("/a", 0, 3_600_000, "1", 1), Result("/a", 3_600_000, 7_200_000, "1", 1));

        var quarter = await _cli.RunAsync([Ev(100), Ev(300)], "tumbling:250ms", "data.url", "count");
        quarter.Output.Should().Equal(Result("/a", 0, 250, "1", 1), Result("/a", 250, 500, "1", 1));
    }

    [Fact]
    public async Task Sliding_windows_whose_slide_does_not_divide_the_size()
    {
        // Size 10 s, slide 4 s: t = 9000 lies in [0,10000), [4000,14000), [8000,18000).
        var run = await _cli.RunAsync([Ev(9000, "2")], "sliding:10s:4s", "data.url", "sum:data.v");

        run.ShouldSucceed();
        run.Output.Should().Equal(Result("/a", 0, 10000, "2", 1), Result("/a", 4000, 14000, "2", 1), Result("/a", 8000, 18000, "2", 1));
    }

    [Fact]
    public async Task Keys_are_windowed_separately()
    {
        string[] input = [Ev(1000, url: "/a"), Ev(2000, url: "/b"), Ev(3000, url: "/a"), Ev(12000, url: "/b")];

        var run = await _cli.RunAsync(input, "tumbling:10s", "data.url", "count");

        run.ShouldSucceed();
        run.Output.Should().BeEquivalentTo(
            Result("/a", 0, 10000, "2", 2),
            Result("/b", 0, 10000, "1", 1),
            Result("/b", 10000, 20000, "1", 1));
    }

    [Fact]
    public async Task Values_are_written_round_trip_in_invariant_culture()
    {
        var culture = Thread.CurrentThread.CurrentCulture;
        Thread.CurrentThread.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
        try
        {
            string[] input = [Ev(1, "0.1"), Ev(2, "0.2"), Ev(3, "1e20"), Ev(11000, "-0.000001")];

            var run = await _cli.RunAsync(input, "tumbling:10s", "data.url", "sum:data.v");

            run.ShouldSucceed();
            run.Output.Should().Equal(Result("/a", 0, 10000, "1E+20", 3), Result("/a", 10000, 20000, "-1E-06", 1));
            run.Stderr.Should().MatchRegex(@"results written in \d+\.\d\d s");
            var small = await _cli.RunAsync([Ev(1, "0.1"), Ev(2, "0.2")], "tumbling:10s", "data.url", "sum:data.v");
            small.Output.Should().Equal(Result("/a", 0, 10000, "0.30000000000000004", 2));
        }
        finally
        {
            Thread.CurrentThread.CurrentCulture = culture;
        }
    }

    [Theory]
    [InlineData("sum:data.v")]
    [InlineData("avg:data.v")]
    public async Task A_sum_that_overflows_a_double_is_written_as_null_and_the_summary_warns_naming_how_many_and_the_first(string agg)
    {
        // Regression: the overflowing total was written as "value":null without a word.
        string[] input =
        [
            Ev(1000, "1e308", url: "/a"), Ev(2000, "1e308", url: "/a"), Ev(3000, "-1e308", url: "/b"), Ev(4000, "-1e308", url: "/b"),
            Ev(5000, "1", url: "/c"), Ev(11000, "1e308", url: "/a"), Ev(12000, "1e308", url: "/a"),
        ];

        var run = await _cli.RunAsync(input, "tumbling:10s", "data.url", agg);

        run.ShouldSucceed();
        run.Output.Should().Contain(Result("/a", 0, 10000, "null", 2)).And.Contain(Result("/b", 0, 10000, "null", 2));
        run.Stderr.Should().Contain("results written in").And.Contain("warning: 3 results (2 keys) overflowed a double")
            .And.Contain("written as \"value\":null, the first key '/");
    }

    [Fact]
    public async Task A_sum_that_does_not_overflow_has_no_warning()
    {
        var run = await _cli.RunAsync([Ev(1000, "1e308"), Ev(2000, "-1e308")], "tumbling:10s", "data.url", "sum:data.v");

        run.ShouldSucceed();
        run.Stderr.Should().NotContain("warning");
    }

    public void Dispose() => _cli.Dispose();
}
