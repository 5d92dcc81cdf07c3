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

    public static TheoryData<string, string[]> Tumbling => new()
    {
        { "count", [Result("/a", 0, 10000, "3", 3), Result("/a", 10000, 20000, "2", 2), Result("/a", 30000, 40000, "1", 1)] },
        { "sum:data.v", [Result("/a", 0, 10000, "10.5", 3), Result("/a", 10000, 20000, "8", 2), Result("/a", 30000, 40000, "7", 1)] },
        { "avg:data.v", [Result("/a", 0, 10000, "3.5", 3), Result("/a", 10000, 20000, "4", 2), Result("/a", 30000, 40000, "7", 1)] },
        { "min:data.v", [Result("/a", 0, 10000, "2.5", 3), Result("/a", 10000, 20000, "-2", 2), Result("/a", 30000, 40000, "7", 1)] },
        { "max:data.v", [Result("/a", 0, 10000, "4", 3), Result("/a", 10000, 20000, "10", 2), Result("/a", 30000, 40000, "7", 1)] },
        { "distinct:data.v", [Result("/a", 0, 10000, "2", 3), Result("/a", 10000, 20000, "2", 2), Result("/a", 30000, 40000, "1", 1)] },
    };

    public static TheoryData<string, string[]> Sliding => new()
    {
        {
            "count",
            [
                Result("/a", -5000, 5000, "1", 1), Result("/a", 0, 10000, "3", 3), Result("/a", 5000, 15000, "3", 3),
                Result("/a", 10000, 20000, "1", 1), Result("/a", 25000, 35000, "1", 1), Result("/a", 30000, 40000, "1", 1),
            ]
        },
        {
            "sum:data.v",
            [
                Result("/a", -5000, 5000, "4", 1), Result("/a", 0, 10000, "10.5", 3), Result("/a", 5000, 15000, "10.5", 3),
                Result("/a", 10000, 20000, "4", 1), Result("/a", 25000, 35000, "-2", 1), Result("/a", 30000, 40000, "-2", 1),
            ]
        },
        {
            "avg:data.v",
            [
                Result("/a", -5000, 5000, "4", 1), Result("/a", 0, 10000, "3.5", 3), Result("/a", 5000, 15000, "3.5", 3),
                Result("/a", 10000, 20000, "4", 1), Result("/a", 25000, 35000, "-2", 1), Result("/a", 30000, 40000, "-2", 1),
            ]
        },
        {
            "min:data.v",
            [
                Result("/a", -5000, 5000, "4", 1), Result("/a", 0, 10000, "2.5", 3), Result("/a", 5000, 15000, "2.5", 3),
                Result("/a", 10000, 20000, "4", 1), Result("/a", 25000, 35000, "-2", 1), Result("/a", 30000, 40000, "-2", 1),
            ]
        },
        {
            "max:data.v",
            [
                Result("/a", -5000, 5000, "4", 1), Result("/a", 0, 10000, "4", 3), Result("/a", 5000, 15000, "4", 3),
                Result("/a", 10000, 20000, "4", 1), Result("/a", 25000, 35000, "-2", 1), Result("/a", 30000, 40000, "-2", 1),
            ]
        },
        {
            "distinct:data.v",
            [
                Result("/a", -5000, 5000, "1", 1), Result("/a", 0, 10000, "2", 3), Result("/a", 5000, 15000, "2", 3),
                Result("/a", 10000, 20000, "1", 1), Result("/a", 25000, 35000, "1", 1), Result("/a", 30000, 40000, "1", 1),
            ]
        },
    };

    public static TheoryData<string, string[]> Session => new()
    {
        { "count", [Result("/a", 1000, 12000, "3", 3), Result("/a", 20000, 25000, "1", 1)] },
        { "sum:data.v", [Result("/a", 1000, 12000, "10.5", 3), Result("/a", 20000, 25000, "-2", 1)] },
        { "avg:data.v", [Result("/a", 1000, 12000, "3.5", 3), Result("/a", 20000, 25000, "-2", 1)] },
        { "min:data.v", [Result("/a", 1000, 12000, "2.5", 3), Result("/a", 20000, 25000, "-2", 1)] },
        { "max:data.v", [Result("/a", 1000, 12000, "4", 3), Result("/a", 20000, 25000, "-2", 1)] },
        { "distinct:data.v", [Result("/a", 1000, 12000, "2", 3), Result("/a", 20000, 25000, "1", 1)] },
    };

    [Theory]
    [MemberData(nameof(Tumbling))]
    public async Task Tumbling_windows(string agg, string[] expected)
    {
        var run = await _cli.RunAsync(TumblingInput, "tumbling:10s", "data.url", agg);

        run.ShouldSucceed();
        run.Output.Should().Equal(expected);
        run.Late.Should().BeEmpty();
        run.DeadLetters.Should().BeEmpty();
        run.Summary.Should().Be((6L, 0L, 6L, 0L, 0L, 3L));
    }

    [Theory]
    [MemberData(nameof(Sliding))]
    public async Task Sliding_windows(string agg, string[] expected)
    {
        var run = await _cli.RunAsync(SlidingInput, "sliding:10s:5s", "data.url", agg);

        run.ShouldSucceed();
        run.Output.Should().Equal(expected);
        run.Late.Should().BeEmpty();
        run.Summary.Should().Be((5L, 0L, 5L, 0L, 0L, 6L));
    }

    [Theory]
    [MemberData(nameof(Session))]
    public async Task Session_windows(string agg, string[] expected)
    {
        var run = await _cli.RunAsync(SessionInput, "session:5s", "data.url", agg);

        run.ShouldSucceed();
        run.Output.Should().Equal(expected);
        run.Late.Should().BeEmpty();
        run.Summary.Should().Be((4L, 0L, 4L, 0L, 0L, 2L));
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

    public void Dispose() => _cli.Dispose();
}
