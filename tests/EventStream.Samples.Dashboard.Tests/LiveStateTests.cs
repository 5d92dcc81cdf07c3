using Microsoft.Extensions.Time.Testing;

namespace EventStream.Samples.Dashboard.Tests;

/// <summary>The headline figure: events admitted per second, from the admitted counter, on the app's clock.</summary>
public sealed class LiveStateTests
{
    [Fact]
    public void Events_admitted_per_second_is_the_growth_of_the_admitted_counter_over_the_last_five_seconds_not_the_pipelines_throughput()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
        var live = new LiveState(time);

        live.Snapshot(Counters(accepted: 0, finished: 0)).AdmittedPerSecond.Should().Be(0, "one sample is no rate yet");
        time.Advance(TimeSpan.FromSeconds(1));
        var first = live.Snapshot(Counters(accepted: 300, finished: 629));
        first.AdmittedPerSecond.Should().Be(300);
        first.FinishedPerSecond.Should().Be(629, "the pipeline's own figure counts fan-out copies and firings, and is shown as such");

        for (var s = 2; s <= 10; s++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            live.Snapshot(Counters(accepted: 300 + ((s - 1) * 100), finished: 200));
        }

        live.Snapshot(Counters(accepted: 1200, finished: 200)).AdmittedPerSecond.Should().Be(100, "the last five seconds admitted 100 a second");
        time.Advance(TimeSpan.FromSeconds(5));
        live.Snapshot(Counters(accepted: 1200, finished: 0)).AdmittedPerSecond.Should().Be(0, "nothing admitted in the last five seconds");
    }

    private static LiveCounters Counters(long accepted, double finished) => new(finished, accepted, 0, 0, false);
}
