using EventStream.Testing;

namespace EventStream.Testing.Tests;

public sealed class WindowTests
{
    private sealed record View(string Url, long At);

    private static PipelineBuilder<View, WindowResult<string, long>> Counting(WindowAssigner windows, Action<WindowOptions<View, string>>? configure = null)
    {
        var options = new WindowOptions<View, string> { Assigner = windows, Key = v => v.Url, Timestamp = v => v.At };
        configure?.Invoke(options);
        return PipelineBuilder.Create<View>("views")
            .Window("per-url", options, Aggregates.Count<View>())
            .Sink("out", _ => { });
    }

    [Fact]
    public async Task A_tumbling_window_fires_early_on_processing_time_on_time_with_the_watermark_and_late_within_the_lateness()
    {
        await using var driver = PipelineTestDriver.Start(Counting(WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)), w =>
        {
            w.EarlyFiringInterval = TimeSpan.FromSeconds(1);
            w.AllowedLateness = TimeSpan.FromSeconds(5);
        }));

        await driver.SendAsync([new View("/a", 1_000), new View("/a", 2_000)]);
        driver.WindowResults<string, long>("per-url").Should().BeEmpty();

        await driver.AdvanceTimeAsync(TimeSpan.FromSeconds(1));
        driver.WindowResults<string, long>("per-url").Should().Equal(new WindowResult<string, long>("/a", 0, 10_000, 2, 2, WindowFiring.Early, 1));

        await driver.AdvanceTimeAsync(TimeSpan.FromSeconds(3));
        driver.WindowResults<string, long>("per-url").Should().HaveCount(1, "an early firing repeats only for a window that changed");

        await driver.SendAsync(new View("/b", 10_000)); // the watermark passes 9,999: [0, 10 s) fires
        await driver.SendAsync(new View("/a", 3_000));  // within the allowed lateness: fires again at once
        await driver.SendAsync(new View("/b", 16_000)); // watermark 15,999 ≥ 9,999 + 5,000: [0, 10 s) is gone
        await driver.SendAsync(new View("/a", 4_000));  // late

        driver.WindowResults<string, long>("per-url").Where(r => r.Key == "/a").Select(r => (r.Value, r.Firing, r.FiringNumber))
            .Should().Equal((2L, WindowFiring.Early, 1), (2L, WindowFiring.OnTime, 2), (3L, WindowFiring.Late, 3));
        driver.Late<View>("per-url").Should().Equal(new View("/a", 4_000));
        driver.DeadLetters.Should().ContainSingle().Which.Reason.Should().Be(DeadLetterReason.Late);
        driver.AssertBalanced();

        await driver.CompleteAsync();
        driver.WindowResults<string, long>("per-url").Where(r => r.Key == "/b").Select(r => (r.Start, r.Value, r.Firing))
            .Should().Equal((10_000L, 2L, WindowFiring.OnTime));
        driver.Delivered.Should().Equal(driver.WindowResults<string, long>("per-url"));
        driver.AssertBalanced();
    }

    [Fact]
    public async Task Late_events_sent_to_a_late_output_are_read_the_same_way()
    {
        var mine = new List<View>();
        await using var driver = PipelineTestDriver.Start(Counting(WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)), w =>
            w.LateOutput = (v, ct) =>
            {
                mine.Add(v);
                return ValueTask.CompletedTask;
            }));

        await driver.SendAsync([new View("/a", 20_000), new View("/a", 1_000)]);

        driver.Late<View>("per-url").Should().Equal(new View("/a", 1_000));
        mine.Should().Equal(driver.Late<View>("per-url"));
        driver.DeadLetters.Should().BeEmpty();
        driver.AssertBalanced();
    }

    [Fact]
    public async Task A_sliding_window_emits_each_overlapping_window_once_the_watermark_passes_it()
    {
        await using var driver = PipelineTestDriver.Start(Counting(WindowAssigner.Sliding(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5))));

        await driver.SendAsync([new View("/a", 1_000), new View("/a", 6_000), new View("/a", 12_000)]);

        driver.WindowResults<string, long>("per-url").Select(r => (r.Start, r.End, r.Value))
            .Should().Equal((-5_000L, 5_000L, 1L), (0L, 10_000L, 2L));

        await driver.CompleteAsync();
        driver.WindowResults<string, long>("per-url").Select(r => (r.Start, r.Value, r.Firing)).Skip(2)
            .Should().Equal((5_000L, 2L, WindowFiring.OnTime), (10_000L, 1L, WindowFiring.OnTime));
        driver.AssertBalanced();
    }

    [Fact]
    public async Task A_session_closes_when_the_watermark_passes_its_gap_and_merges_what_falls_inside()
    {
        await using var driver = PipelineTestDriver.Start(Counting(WindowAssigner.Session(TimeSpan.FromSeconds(30))));

        await driver.SendAsync([new View("/a", 0), new View("/a", 20_000), new View("/a", 45_000)]);
        driver.WindowResults<string, long>("per-url").Should().BeEmpty("the session [0, 75 s) is still open");

        await driver.SendAsync(new View("/b", 75_000)); // watermark 74,999: the session of /a closes
        driver.WindowResults<string, long>("per-url").Should().Equal(new WindowResult<string, long>("/a", 0, 75_000, 3, 3, WindowFiring.OnTime, 1));

        await driver.CompleteAsync();
        driver.WindowResults<string, long>("per-url").Should().HaveCount(2).And.Contain(r => r.Key == "/b" && r.Start == 75_000);
        driver.AssertBalanced();
    }

    [Fact]
    public async Task Reading_the_results_of_a_stage_that_is_not_a_window_or_with_the_wrong_types_says_what_is_there()
    {
        await using var driver = PipelineTestDriver.Start(Counting(WindowAssigner.Tumbling(TimeSpan.FromSeconds(1))));

        driver.Invoking(d => d.WindowResults<string, long>("out")).Should().Throw<ArgumentException>().WithMessage("*no window stage 'out'*'per-url'*");
        driver.Invoking(d => d.WindowResults<int, long>("per-url")).Should().Throw<ArgumentException>().WithMessage("*emits WindowResult<String, Int64>, not WindowResult<Int32, Int64>*");
    }
}
