using System.Text.Json;

namespace EventStream.Samples.Dashboard.Tests;

/// <summary>
/// The window stage's accumulator as state: with <c>--redis</c> a partition taken over by another instance is restored
/// from its JSON, so what it holds must read back as it was written.
/// </summary>
public sealed class WindowStatsTests
{
    [Fact]
    public void A_window_with_events_reads_back_from_JSON_with_the_same_figures()
    {
        // Regression: the accumulator had private setters and a DistinctCounter, which System.Text.Json neither writes nor
        // reads back; an empty one survived the round trip (the library's check at Build), one with events came back empty.
        var stats = Fill(new WindowStats(), users: 40, events: 100, second: 1_700_000_000);

        var back = RoundTrip(stats);

        Figures(back).Should().Be(Figures(stats));
        Figures(back).Should().Be(new WindowFigures(100, 40, 1_700_000_000, 100));
    }

    [Fact]
    public void A_window_past_the_exact_limit_reads_back_as_the_same_sketch_and_merges_as_before()
    {
        var big = Fill(new WindowStats(), users: 50_000, events: 50_000, second: 10);
        var other = Fill(new WindowStats(), users: 3_000, events: 3_000, second: 11, offset: 40_000);

        var back = RoundTrip(big);

        Figures(back).Should().Be(Figures(big));
        Figures(Merge(RoundTrip(big), other)).Should().Be(Figures(Merge(big, other)));
    }

    [Fact]
    public void A_committed_result_reads_back_with_the_options_it_is_written_with()
    {
        // As the window stage writes it on the partitioned path: the web defaults, firings as camelCase names.
        const string json = """{"key":{"site":"a|b","url":null},"start":1000,"end":301000,"value":{"count":7,"users":3,"newestSecond":300,"newestSecondCount":2},"count":7,"firing":"onTime","firingNumber":2}""";

        var result = JsonSerializer.Deserialize<WindowResult<FigureKey, WindowFigures>>(json, CommittedFigures.ResultJson);

        result.Should().Be(new WindowResult<FigureKey, WindowFigures>(new FigureKey("a|b", null), 1000, 301000, new WindowFigures(7, 3, 300, 2), 7, WindowFiring.OnTime, 2));
        JsonSerializer.Serialize(result, CommittedFigures.ResultJson).Should().Be(json);
    }

    private static WindowStats Fill(WindowStats stats, int users, int events, long second, int offset = 0)
    {
        for (var i = 0; i < events; i++)
        {
            stats = WindowStats.Aggregate.Add(stats, new Keyed(new FigureKey("s", null), new SiteEvent("s", "u" + (offset + (i % users)), "/", (second * 1000) + (i % 1000))));
        }

        return stats;
    }

    private static WindowStats RoundTrip(WindowStats stats) =>
        JsonSerializer.Deserialize<WindowStats>(JsonSerializer.Serialize(stats, JsonSerializerOptions.Web), JsonSerializerOptions.Web)!;

    private static WindowStats Merge(WindowStats into, WindowStats other) => WindowStats.Aggregate.Merge(into, other);

    private static WindowFigures Figures(WindowStats stats) => WindowStats.Aggregate.GetResult(stats);
}
