using EventStream.Testing;
using EventStream.Windowing;
using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace EventStream.Tests.Windowing;

public class WindowStageTests
{
    private sealed record View(string Url, long Ts, string User);

    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_000_000);

    [Fact]
    public async Task A_window_stage_counts_per_key_and_sends_late_events_to_the_dead_letter_store()
    {
        var results = new ConcurrentQueue<WindowResult<string, long>>();
        await using var pipeline = PipelineBuilder.Create<View>("views")
            .Window("per-url", new WindowOptions<View, string>
            {
                Assigner = WindowAssigner.Tumbling(TimeSpan.FromMilliseconds(10)),
                Key = v => v.Url,
                Timestamp = v => v.Ts,
            }, Aggregates.Count<View>())
            .Sink("collect", r => results.Enqueue(r))
            .Build();

        foreach (var v in new[] { new View("/a", 1, "u1"), new View("/b", 2, "u1"), new View("/a", 5, "u2"), new View("/a", 12, "u3"), new View("/a", 3, "late") })
        {
            await pipeline.WriteAsync(v);
        }

        await pipeline.CompleteAsync();

        results.Select(r => (r.Key, r.Start, r.Value)).Should().BeEquivalentTo(new[] { ("/a", 0L, 2L), ("/b", 0L, 1L), ("/a", 10L, 1L) });
        var late = (await pipeline.DeadLetters.ListAsync()).Should().ContainSingle().Subject;
        late.Reason.Should().Be(DeadLetterReason.Late);
        late.Stage.Should().Be("per-url");
        ((View)late.Event!).User.Should().Be("late");
        var m = pipeline.GetMetrics();
        m.Late.Should().Be(1);
        m.Windowed.Should().Be(4);
        m.WindowResults.Should().Be(3);
        m.Delivered.Should().Be(3);
        m.ShouldBeBalanced();
    }

    [Fact]
    public async Task Late_events_go_to_the_attached_late_output_when_there_is_one()
    {
        var late = new ConcurrentQueue<View>();
        await using var pipeline = PipelineBuilder.Create<View>("late-output")
            .Window("w", new WindowOptions<View, string>
            {
                Assigner = WindowAssigner.Tumbling(TimeSpan.FromMilliseconds(10)),
                Key = v => v.Url,
                Timestamp = v => v.Ts,
                LateOutput = (v, _) => { late.Enqueue(v); return default; },
            }, Aggregates.Count<View>())
            .Sink("s", _ => { })
            .Build();

        await pipeline.WriteAsync(new View("/a", 50, "u"));
        await pipeline.WriteAsync(new View("/a", 1, "old"));
        await pipeline.CompleteAsync();

        late.Should().ContainSingle().Which.User.Should().Be("old");
        (await pipeline.DeadLetters.CountAsync()).Should().Be(0);
        pipeline.GetMetrics().Late.Should().Be(1);
    }

    [Fact]
    public async Task Early_firings_emit_the_in_progress_value_every_interval_of_processing_time()
    {
        await using var driver = PipelineTestDriver.Start(PipelineBuilder.Create<View>("early")
            .Window("users-now", new WindowOptions<View, string>
            {
                Assigner = WindowAssigner.Tumbling(TimeSpan.FromMinutes(5)),
                Key = v => v.Url,
                Timestamp = v => v.Ts,
                EarlyFiringInterval = TimeSpan.FromSeconds(1),
            }, Aggregates.DistinctCount<View, string>(v => v.User))
            .Sink("dashboard", _ => { }));

        await driver.SendAsync([new View("/", 1_000, "u1"), new View("/", 2_000, "u2")]);
        await driver.AdvanceTimeAsync(TimeSpan.FromSeconds(1));
        await driver.SendAsync(new View("/", 3_000, "u1"));
        await driver.AdvanceTimeAsync(TimeSpan.FromSeconds(1));
        await driver.CompleteAsync();

        driver.WindowResults<string, long>("users-now").Select(r => (r.Value, r.Firing, r.FiringNumber)).Should().Equal(
            (2L, WindowFiring.Early, 1),
            (2L, WindowFiring.Early, 2),
            (2L, WindowFiring.OnTime, 3));
    }

    [Fact]
    public async Task An_idle_timeout_lets_the_windows_of_a_quiet_source_close()
    {
        await using var driver = PipelineTestDriver.Start(PipelineBuilder.Create<View>("idle")
            .Window("w", new WindowOptions<View, string>
            {
                Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)),
                Key = v => v.Url,
                Timestamp = v => v.Ts,
                IdleTimeout = TimeSpan.FromSeconds(30),
            }, Aggregates.Count<View>())
            .Sink("s", _ => { }));

        await driver.SendAsync(new View("/", 1_000, "u"));
        await driver.AdvanceTimeAsync(TimeSpan.FromSeconds(29)); // only the clock moves
        driver.WindowResults<string, long>("w").Should().BeEmpty("not before the source has been quiet for IdleTimeout");

        await driver.AdvanceTimeAsync(TimeSpan.FromSeconds(10));
        driver.WindowResults<string, long>("w").Should().ContainSingle().Which.Firing.Should().Be(WindowFiring.OnTime);
        driver.Metrics.Stages[0].Watermark.Should().NotBeNull();
    }

    [Fact]
    public async Task Processing_time_windows_are_driven_by_the_pipeline_clock()
    {
        await using var driver = PipelineTestDriver.Start(
            PipelineBuilder.Create<View>("proc")
                .Window("now", new WindowOptions<View, string>
                {
                    Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)),
                    Key = v => v.Url,
                    Time = TimeCharacteristic.ProcessingTime,
                }, Aggregates.Count<View>())
                .Sink("s", _ => { }),
            new PipelineTestDriverOptions { StartTime = Start });

        await driver.SendAsync([new View("/", 0, "u1"), new View("/", 0, "u2")]);
        await driver.AdvanceTimeAsync(TimeSpan.FromSeconds(1));

        driver.WindowResults<string, long>("now").Should().ContainSingle("the window of the last second fired")
            .Which.Should().Match<WindowResult<string, long>>(r => r.Value == 2 && r.Start == Start.ToUnixTimeMilliseconds());
    }

    [Theory]
    [InlineData("sliding")]
    [InlineData("session")]
    public async Task An_aggregate_that_throws_on_one_event_dead_letters_that_event_and_the_windows_hold_the_others(string kind)
    {
        var results = new ConcurrentQueue<WindowResult<string, double>>();
        await using var pipeline = PipelineBuilder.Create<View>("prices", o => o.Retry = RetryOptions.None)
            .Window("w", new WindowOptions<View, string>
            {
                Assigner = kind == "sliding" ? WindowAssigner.Sliding(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5)) : WindowAssigner.Session(TimeSpan.FromSeconds(3)),
                Key = v => v.Url,
                Timestamp = v => v.Ts,
            }, Aggregates.Sum<View>(v => v.User == "bad" ? throw new InvalidOperationException("no price") : 1.5))
            .Sink("collect", r => results.Enqueue(r))
            .Build();

        // The bad event is the first of its key and lies between two others: no window or session of it may be left.
        foreach (var v in new[] { new View("/a", 1_000, "u"), new View("/b", 2_000, "bad"), new View("/a", 2_500, "bad"), new View("/a", 4_000, "u") })
        {
            await pipeline.WriteAsync(v);
        }

        await pipeline.CompleteAsync();

        results.Should().NotContain(r => r.Key == "/b", "the only event of /b failed");
        results.Should().OnlyContain(r => r.Key == "/a" && r.Value == 1.5 * r.Count);
        results.Sum(r => r.Count).Should().Be(kind == "sliding" ? 4 : 2, "each good event in each of its windows (two sliding windows each), the bad ones in none");
        if (kind == "session")
        {
            results.Should().ContainSingle().Which.Should().Match<WindowResult<string, double>>(r => r.Start == 1_000 && r.End == 7_000, "the good events form one session");
        }

        var m = pipeline.GetMetrics();
        m.DeadLettered.Should().Be(2);
        m.Windowed.Should().Be(2);
        (m.Windowed + m.Late + m.DeadLettered).Should().Be(m.Accepted);
        var letters = await pipeline.DeadLetters.ListAsync();
        letters.Should().HaveCount(2).And.OnlyContain(d => d.Stage == "w" && d.ExceptionType == typeof(InvalidOperationException).FullName && d.Message == "no price");
    }

    [Fact]
    public async Task Processing_time_windows_stamp_events_with_the_clock_even_when_a_timestamp_selector_is_set()
    {
        var time = new FakeTimeProvider(Start);
        var results = new ConcurrentQueue<WindowResult<string, long>>();
        await using var pipeline = PipelineBuilder.Create<View>("proc-ts", o => o.TimeProvider = time)
            .Window("now", new WindowOptions<View, string>
            {
                Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)),
                Key = v => v.Url,
                Timestamp = v => v.Ts, // an hour old: ignored for processing time
                Time = TimeCharacteristic.ProcessingTime,
            }, Aggregates.Count<View>())
            .Sink("s", r => results.Enqueue(r))
            .Build();

        await pipeline.WriteAsync(new View("/", Start.ToUnixTimeMilliseconds() - 3_600_000, "u1"));
        await pipeline.WriteAsync(new View("/", Start.ToUnixTimeMilliseconds() - 3_600_000, "u2"));
        await TestSupport.Eventually(() => pipeline.GetMetrics().Windowed == 2, "absorbed, not late");
        time.Advance(TimeSpan.FromSeconds(1));

        await TestSupport.Eventually(() => results.Count == 1, "the window of the last second fired");
        results.Single().Should().Match<WindowResult<string, long>>(r => r.Value == 2 && r.Start == Start.ToUnixTimeMilliseconds());
        pipeline.GetMetrics().Late.Should().Be(0);
    }

    [Fact]
    public async Task A_cancelled_idle_pipeline_stops_its_window_timers()
    {
        var time = new TrackingTimeProvider();
        var pipeline = PipelineBuilder.Create<View>("timers", o => o.TimeProvider = time)
            .Window("w", new WindowOptions<View, string>
            {
                Assigner = WindowAssigner.Tumbling(TimeSpan.FromMinutes(1)),
                Key = v => v.Url,
                Timestamp = v => v.Ts,
                EarlyFiringInterval = TimeSpan.FromMilliseconds(20),
            }, Aggregates.Count<View>())
            .Sink("s", _ => { })
            .Build();
        await pipeline.WriteAsync(new View("/", 1, "u"));
        await TestSupport.Eventually(() => pipeline.GetMetrics().Windowed == 1, "absorbed: held by the window, nothing in flight");
        time.Live.Should().NotBeEmpty("the window stage ticks for its early firings");

        // Disposed before its input completed: cancelled with nothing in flight, so no leftovers to dead-letter, and
        // still every timer must stop (a live timer keeps firing and keeps the pipeline in memory).
        await pipeline.DisposeAsync();

        pipeline.Completion.IsCanceled.Should().BeTrue();
        time.Live.Should().BeEmpty();
    }

    [Fact]
    public void Window_options_are_validated_at_build()
    {
        var act = () => PipelineBuilder.Create<View>("bad-window")
            .Window("w", new WindowOptions<View, string> { OutOfOrderness = TimeSpan.FromSeconds(-1) }, Aggregates.Count<View>())
            .Sink("s", _ => { })
            .Build();

        var problems = act.Should().Throw<PipelineConfigurationException>().Which.Problems;
        problems.Should().Contain(p => p.Contains("'w' (window): Assigner is required", StringComparison.Ordinal));
        problems.Should().Contain(p => p.Contains("Key is required", StringComparison.Ordinal));
        problems.Should().Contain(p => p.Contains("Timestamp is required", StringComparison.Ordinal));
        problems.Should().Contain(p => p.Contains("OutOfOrderness must not be negative", StringComparison.Ordinal));
    }
}

public class WindowEdgeCaseTests
{
    private sealed record Point(string Key, long Ts, double Value);

    [Theory]
    [InlineData(long.MaxValue - 5)]
    [InlineData(long.MinValue + 1)]
    [InlineData((1L << 62) + 1)]
    public async Task A_timestamp_outside_the_supported_range_is_dead_lettered_instead_of_hanging_the_stage(long ts)
    {
        // Regression: window arithmetic overflowed near long.MaxValue/MinValue and the stage never finished.
        var results = new ConcurrentQueue<WindowResult<string, long>>();
        await using var pipeline = PipelineBuilder.Create<Point>("extreme")
            .Window("w", new WindowOptions<Point, string>
            {
                Assigner = WindowAssigner.Session(TimeSpan.FromSeconds(10)),
                Key = p => p.Key,
                Timestamp = p => p.Ts,
            }, Aggregates.Count<Point>())
            .Sink("s", r => results.Enqueue(r))
            .Build();

        await pipeline.WriteAsync(new Point("a", ts, 0));
        await pipeline.WriteAsync(new Point("a", 1_000, 0));
        await pipeline.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(10));

        var entry = (await pipeline.DeadLetters.ListAsync()).Should().ContainSingle().Subject;
        entry.ExceptionType.Should().Be(typeof(ArgumentException).FullName);
        entry.Message.Should().Contain("outside the supported range");
        results.Should().ContainSingle().Which.Should().Match<WindowResult<string, long>>(r => r.Start == 1_000 && r.End == 11_000);
    }

    [Theory]
    [InlineData("tumbling")]
    [InlineData("sliding")]
    [InlineData("session")]
    public void A_sum_that_overflows_is_infinite_in_every_window_kind_not_NaN(string kind)
    {
        // Regression: the Kahan compensation became ∞ − ∞ = NaN for tumbling windows, but +∞ for sliding ones.
        var assigner = kind switch
        {
            "tumbling" => WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)),
            "sliding" => WindowAssigner.Sliding(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1)),
            _ => WindowAssigner.Session(TimeSpan.FromSeconds(10)),
        };
        var store = new WindowEngine<Point, string, SumAccumulator, double>(assigner, Aggregates.Sum<Point>(p => p.Value), 0, 0);
        var output = new List<WindowResult<string, double>>();
        store.Add("a", 1_000, new Point("a", 1_000, 1e308), output);
        store.Add("a", 5_000, new Point("a", 5_000, 1e308), output);
        store.Complete(output);

        // Every window holding both events overflows to +∞; a window holding one of them sums to that one value.
        (long Start, long End)[] windows = kind switch
        {
            "tumbling" => [(0, 10_000)],
            "sliding" => [.. Enumerable.Range(-8, 14).Select(k => (k * 1_000L, (k * 1_000L) + 10_000))],
            _ => [(1_000, 15_000)],
        };
        var expected = windows.Select(w =>
        {
            var count = new[] { 1_000L, 5_000L }.Count(t => w.Start <= t && t < w.End);
            return (w.Start, w.End, (long)count, count == 2 ? double.PositiveInfinity : 1e308);
        });
        output.Select(r => (r.Start, r.End, r.Count, r.Value)).Should().BeEquivalentTo(expected);
        output.Should().Contain(r => r.Count == 2, "the overflow is exercised");
    }

    [Fact]
    public void A_firing_is_written_in_JSON_as_its_name_and_read_back_from_a_name_or_a_number()
    {
        // Regression (issue 11): with default options a result's firing was written as 0, 1, 2 or 3.
        var result = new WindowResult<string, long>("/a", 0, 1000, 3, 3, WindowFiring.OnTime, 1);

        var json = System.Text.Json.JsonSerializer.Serialize(result);

        json.Should().Contain("\"Firing\":\"onTime\"");
        System.Text.Json.JsonSerializer.Deserialize<WindowResult<string, long>>(json).Should().Be(result);
        System.Text.Json.JsonSerializer.Deserialize<WindowFiring>("\"Stopped\"").Should().Be(WindowFiring.Stopped);
        System.Text.Json.JsonSerializer.Deserialize<WindowFiring>("2").Should().Be(WindowFiring.Late);
    }
}
