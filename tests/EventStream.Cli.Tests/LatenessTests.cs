using static EventStream.Cli.Tests.CliHarness;

namespace EventStream.Cli.Tests;

/// <summary>Out-of-order events, late events and allowed lateness, per the semantics in DESIGN.md.</summary>
public sealed class LatenessTests : IDisposable
{
    private readonly CliHarness _cli = new();

    [Fact]
    public async Task An_event_out_of_order_within_the_out_of_orderness_is_counted_in_its_window()
    {
        // ooo = 2 s: after 10500, W = 8499 < 9999, so [0,10000) is still open when 9500 arrives. 13000 makes W = 10999.
        string[] input = [Ev(9000, "1"), Ev(10500, "2"), Ev(9500, "3"), Ev(13000, "4")];

        var run = await _cli.RunAsync(input, "tumbling:10s", "data.url", "sum:data.v", "--out-of-orderness", "2s");

        run.ShouldSucceed();
        run.Output.Should().Equal(Result("/a", 0, 10000, "4", 2), Result("/a", 10000, 20000, "6", 2));
        run.Late.Should().BeEmpty();
        run.Summary.Should().Be((4L, 0L, 4L, 0L, 0L, 2L));
    }

    [Fact]
    public async Task Without_out_of_orderness_the_same_event_is_late_and_written_to_the_late_file_as_read()
    {
        // ooo = 0: after 10500, W = 10499 ≥ 9999: [0,10000) fired and, with no lateness allowed, is closed.
        var outOfOrder = Ev(9500, "3", id: "the-late-one");
        string[] input = [Ev(9000, "1"), Ev(10500, "2"), outOfOrder, Ev(13000, "4")];

        var run = await _cli.RunAsync(input, "tumbling:10s", "data.url", "sum:data.v");

        run.ShouldSucceed();
        run.Output.Should().Equal(Result("/a", 0, 10000, "1", 1), Result("/a", 10000, 20000, "6", 2));
        run.Late.Should().Equal(outOfOrder);
        run.Summary.Should().Be((4L, 0L, 3L, 1L, 0L, 2L));
    }

    [Fact]
    public async Task An_event_within_the_allowed_lateness_fires_its_window_again_and_one_past_it_is_late()
    {
        // L = 5 s. 12000: W = 11999 fires [0,10000) (count 1). 2000: [0,10000) is late only when 9999 + 5000 ≤ W, so it
        // is updated and fires again (count 2). 20000: W = 19999 fires [10000,20000) and purges [0,10000) (14999 ≤ W).
        // 3000: [0,10000) is late now → the late file. Completion fires [20000,30000).
        var tooLate = Ev(3000, "100", id: "too-late");
        string[] input = [Ev(1000, "1"), Ev(12000, "2"), Ev(2000, "3"), Ev(20000, "4"), tooLate];

        var run = await _cli.RunAsync(input, "tumbling:10s", "data.url", "sum:data.v", "--allowed-lateness", "5s");

        run.ShouldSucceed();
        run.Output.Should().Equal(
            Result("/a", 0, 10000, "1", 1),
            Result("/a", 0, 10000, "4", 2),
            Result("/a", 10000, 20000, "2", 1),
            Result("/a", 20000, 30000, "4", 1));
        run.Late.Should().Equal(tooLate);
        run.Summary.Should().Be((5L, 0L, 4L, 1L, 0L, 4L));
    }

    [Fact]
    public async Task Sliding_windows_with_allowed_lateness_update_only_the_windows_still_kept()
    {
        // Sliding 10 s / 5 s, L = 3 s. 16000 lies in [10000,20000) and [15000,25000); W = 15999 fires [-5000,5000) and
        // [0,10000) (each holding 1000) and purges both (7999 and 12999 ≤ W). 8000 lies in [0,10000), late now, and in
        // [5000,15000), not late (14999 + 3000 > 15999) but already due: it is created and fires at once. An event added
        // to at least one window is not late.
        string[] input = [Ev(1000, "1"), Ev(16000, "2"), Ev(8000, "3")];

        var run = await _cli.RunAsync(input, "sliding:10s:5s", "data.url", "sum:data.v", "--allowed-lateness", "3s");

        run.ShouldSucceed();
        run.Output.Should().Equal(
            Result("/a", -5000, 5000, "1", 1),
            Result("/a", 0, 10000, "1", 1),
            Result("/a", 5000, 15000, "3", 1),
            Result("/a", 10000, 20000, "2", 1),
            Result("/a", 15000, 25000, "2", 1));
        run.Late.Should().BeEmpty();
    }

    [Fact]
    public async Task An_out_of_order_event_merges_two_sessions_into_one()
    {
        // Gap 5 s, ooo 5 s: 1000 → [1000,6000); 10000 → [10000,15000), W = 4999 (nothing fires). 5500 → [5500,10500)
        // touches both: one session [1000,15000).
        string[] input = [Ev(1000, "1"), Ev(10000, "2"), Ev(5500, "3")];

        var run = await _cli.RunAsync(input, "session:5s", "data.url", "sum:data.v", "--out-of-orderness", "5s");

        run.ShouldSucceed();
        run.Output.Should().Equal(Result("/a", 1000, 15000, "6", 3));
    }

    [Fact]
    public async Task A_late_event_extending_a_fired_session_within_the_allowed_lateness_fires_the_grown_session()
    {
        // Gap 5 s, L = 10 s. 10000: W = 9999 fires [1000,6000). 4000 → [4000,9000) merges: [1000,9000), not late
        // (8999 + 10000 > 9999), already due: fires at once with count 2. Completion fires [10000,15000).
        string[] input = [Ev(1000, "1"), Ev(10000, "2"), Ev(4000, "3")];

        var run = await _cli.RunAsync(input, "session:5s", "data.url", "count", "--allowed-lateness", "10s");

        run.ShouldSucceed();
        run.Output.Should().Equal(
            Result("/a", 1000, 6000, "1", 1),
            Result("/a", 1000, 9000, "2", 2),
            Result("/a", 10000, 15000, "1", 1));
        run.Late.Should().BeEmpty();
    }

    [Fact]
    public async Task An_event_for_a_purged_session_is_late()
    {
        // Gap 5 s, L = 0: 10000 makes W = 9999: [1000,6000) fires and is purged. 2000 → [2000,7000) is late (6999 ≤ 9999).
        var late = Ev(2000, id: "late");
        string[] input = [Ev(1000), Ev(10000), late];

        var run = await _cli.RunAsync(input, "session:5s", "data.url", "count");

        run.ShouldSucceed();
        run.Output.Should().Equal(Result("/a", 1000, 6000, "1", 1), Result("/a", 10000, 15000, "1", 1));
        run.Late.Should().Equal(late);
        run.Summary.Should().Be((3L, 0L, 2L, 1L, 0L, 2L));
    }

    [Fact]
    public async Task Lateness_is_judged_per_key_window_but_with_one_watermark()
    {
        // The watermark is the stage's, not the key's: /b at 12000 closes /a's [0,10000) too.
        var late = Ev(5000, url: "/a", id: "late");
        string[] input = [Ev(1000, url: "/a"), Ev(12000, url: "/b"), late];

        var run = await _cli.RunAsync(input, "tumbling:10s", "data.url", "count");

        run.ShouldSucceed();
        run.Output.Should().Equal(Result("/a", 0, 10000, "1", 1), Result("/b", 10000, 20000, "1", 1));
        run.Late.Should().Equal(late);
    }

    public void Dispose() => _cli.Dispose();
}
