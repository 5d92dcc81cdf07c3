using Xunit.Abstractions;
using static EventStream.Cli.Tests.CliHarness;

namespace EventStream.Cli.Tests;

/// <summary>
/// Out-of-order events, late events and allowed lateness, per the semantics in the README's "The model" section
/// (event-time windows). W is the watermark: the largest timestamp less the out-of-orderness, less 1 ms.
/// </summary>
public sealed class LatenessTests : IDisposable
{
    private readonly CliHarness _cli = new();

    /// <summary>One run of the command: its arguments and input, and every output and count it should give.</summary>
    private sealed record Case(
        string Window,
        string Agg,
        string[] Extra,
        string[] Input,
        string[] Output,
        string[] Late,
        (long Read, long Blank, long Windowed, long Late, long DeadLettered, long Results) Summary);

    /// <summary>Each case by the behaviour it shows (the name it had as a test of its own).</summary>
    private static readonly Dictionary<string, Case> Cases = new()
    {
        // ooo = 2 s: after 10500, W = 8499 < 9999, so [0,10000) is still open when 9500 arrives. 13000 makes W = 10999.
        ["An_event_out_of_order_within_the_out_of_orderness_is_counted_in_its_window"] = new(
            "tumbling:10s", "sum:data.v", ["--out-of-orderness", "2s"],
            Input: [Ev(9000, "1"), Ev(10500, "2"), Ev(9500, "3"), Ev(13000, "4")],
            Output: [Result("/a", 0, 10000, "4", 2), Result("/a", 10000, 20000, "6", 2)],
            Late: [],
            Summary: (4, 0, 4, 0, 0, 2)),

        // ooo = 0: after 10500, W = 10499 ≥ 9999: [0,10000) fired and, with no lateness allowed, is closed.
        ["Without_out_of_orderness_the_same_event_is_late_and_written_to_the_late_file_as_read"] = new(
            "tumbling:10s", "sum:data.v", [],
            Input: [Ev(9000, "1"), Ev(10500, "2"), Ev(9500, "3", id: "the-late-one"), Ev(13000, "4")],
            Output: [Result("/a", 0, 10000, "1", 1), Result("/a", 10000, 20000, "6", 2)],
            Late: [Ev(9500, "3", id: "the-late-one")],
            Summary: (4, 0, 3, 1, 0, 2)),

        // L = 5 s. 12000: W = 11999 fires [0,10000) (count 1). 2000: [0,10000) is late only when 9999 + 5000 ≤ W, so it
        // is updated and fires again (count 2). 20000: W = 19999 fires [10000,20000) and purges [0,10000) (14999 ≤ W).
        // 3000: [0,10000) is late now → the late file. Completion fires [20000,30000).
        ["An_event_within_the_allowed_lateness_fires_its_window_again_and_one_past_it_is_late"] = new(
            "tumbling:10s", "sum:data.v", ["--allowed-lateness", "5s"],
            Input: [Ev(1000, "1"), Ev(12000, "2"), Ev(2000, "3"), Ev(20000, "4"), Ev(3000, "100", id: "too-late")],
            Output:
            [
                Result("/a", 0, 10000, "1", 1),
                Result("/a", 0, 10000, "4", 2),
                Result("/a", 10000, 20000, "2", 1),
                Result("/a", 20000, 30000, "4", 1),
            ],
            Late: [Ev(3000, "100", id: "too-late")],
            Summary: (5, 0, 4, 1, 0, 4)),

        // Sliding 10 s / 5 s, L = 3 s. 16000 lies in [10000,20000) and [15000,25000); W = 15999 fires [-5000,5000) and
        // [0,10000) (each holding 1000) and purges both (7999 and 12999 ≤ W). 8000 lies in [0,10000), late now, and in
        // [5000,15000), not late (14999 + 3000 > 15999) but already due: it is created and fires at once. An event added
        // to at least one window is not late.
        ["Sliding_windows_with_allowed_lateness_update_only_the_windows_still_kept"] = new(
            "sliding:10s:5s", "sum:data.v", ["--allowed-lateness", "3s"],
            Input: [Ev(1000, "1"), Ev(16000, "2"), Ev(8000, "3")],
            Output:
            [
                Result("/a", -5000, 5000, "1", 1),
                Result("/a", 0, 10000, "1", 1),
                Result("/a", 5000, 15000, "3", 1),
                Result("/a", 10000, 20000, "2", 1),
                Result("/a", 15000, 25000, "2", 1),
            ],
            Late: [],
            Summary: (3, 0, 3, 0, 0, 5)),

        // Gap 5 s, ooo 5 s: 1000 → [1000,6000); 10000 → [10000,15000), W = 4999 (nothing fires). 5500 → [5500,10500)
        // touches both: one session [1000,15000).
        ["An_out_of_order_event_merges_two_sessions_into_one"] = new(
            "session:5s", "sum:data.v", ["--out-of-orderness", "5s"],
            Input: [Ev(1000, "1"), Ev(10000, "2"), Ev(5500, "3")],
            Output: [Result("/a", 1000, 15000, "6", 3)],
            Late: [],
            Summary: (3, 0, 3, 0, 0, 1)),

        // Gap 5 s, L = 10 s. 10000: W = 9999 fires [1000,6000). 4000 → [4000,9000) merges: [1000,9000), not late
        // (8999 + 10000 > 9999), already due: fires at once with count 2. Completion fires [10000,15000).
        ["A_late_event_extending_a_fired_session_within_the_allowed_lateness_fires_the_grown_session"] = new(
            "session:5s", "count", ["--allowed-lateness", "10s"],
            Input: [Ev(1000, "1"), Ev(10000, "2"), Ev(4000, "3")],
            Output:
            [
                Result("/a", 1000, 6000, "1", 1),
                Result("/a", 1000, 9000, "2", 2),
                Result("/a", 10000, 15000, "1", 1),
            ],
            Late: [],
            Summary: (3, 0, 3, 0, 0, 3)),

        // Gap 5 s, L = 0: 10000 makes W = 9999: [1000,6000) fires and is purged. 2000 → [2000,7000) is late (6999 ≤ 9999).
        ["An_event_for_a_purged_session_is_late"] = new(
            "session:5s", "count", [],
            Input: [Ev(1000), Ev(10000), Ev(2000, id: "late")],
            Output: [Result("/a", 1000, 6000, "1", 1), Result("/a", 10000, 15000, "1", 1)],
            Late: [Ev(2000, id: "late")],
            Summary: (3, 0, 2, 1, 0, 2)),

        // The watermark is the stage's, not the key's: /b at 12000 closes /a's [0,10000) too.
        ["Lateness_is_judged_per_key_window_but_with_one_watermark"] = new(
            "tumbling:10s", "count", [],
            Input: [Ev(1000, url: "/a"), Ev(12000, url: "/b"), Ev(5000, url: "/a", id: "late")],
            Output: [Result("/a", 0, 10000, "1", 1), Result("/b", 10000, 20000, "1", 1)],
            Late: [Ev(5000, url: "/a", id: "late")],
            Summary: (3, 0, 2, 1, 0, 2)),
    };

    public static TheoryData<Behaviour> Behaviours => [.. Cases.Keys.Select(name => new Behaviour(name))];

    [Theory]
    [MemberData(nameof(Behaviours))]
    public async Task Out_of_order_and_late_events(Behaviour behaviour)
    {
        var c = Cases[behaviour.Name];

        var run = await _cli.RunAsync(c.Input, c.Window, "data.url", c.Agg, c.Extra);

        run.ShouldSucceed();
        run.Output.Should().Equal(c.Output);
        run.Late.Should().Equal(c.Late, "a late event is written to the late file as it was read");
        run.DeadLetters.Should().BeEmpty();
        run.Summary.Should().Be(c.Summary);
    }

    public void Dispose() => _cli.Dispose();

    /// <summary>A case's name, shown whole in the test's display name, where xunit cuts a string argument at 50 characters.</summary>
    public sealed class Behaviour : IXunitSerializable
    {
        /// <summary>For the xunit serializer only.</summary>
        public Behaviour()
            : this(string.Empty)
        {
        }

        public Behaviour(string name) => Name = name;

        public string Name { get; private set; }

        public void Deserialize(IXunitSerializationInfo info) => Name = info.GetValue<string>(nameof(Name));

        public void Serialize(IXunitSerializationInfo info) => info.AddValue(nameof(Name), Name);

        public override string ToString() => Name;
    }
}
