using EventStream.Testing;

namespace EventStream.Testing.Tests;

public sealed class RetryAndDeadLetterTests
{
    private static readonly RetryOptions Retry = new() { MaxAttempts = 3, BaseDelay = TimeSpan.FromSeconds(1), UseJitter = false };

    [Fact]
    public async Task Retries_wait_for_their_back_off_on_the_fake_clock_then_the_event_is_dead_lettered()
    {
        var attempts = new List<DateTimeOffset>();
        PipelineTestDriver<int, int> driver = null!;
        driver = PipelineTestDriver.Start(
            PipelineBuilder.Create<int>("payments", o => o.Retry = Retry)
                .Transform("charge", n =>
                {
                    attempts.Add(driver.Now);
                    return n == 13 ? throw new TimeoutException("gateway timed out") : n;
                })
                .Sink("out", _ => { }));
        await using var _ = driver;

        await driver.SendAsync([13, 1]);
        attempts.Should().HaveCount(2, "the event behind the failing one went on");
        driver.Delivered.Should().Equal(1);
        driver.WaitingForRetry.Should().Be(1);
        driver.AssertBalanced();

        await driver.AdvanceTimeAsync(TimeSpan.FromMilliseconds(999));
        attempts.Should().HaveCount(2, "the first back-off is 1 s");

        await driver.AdvanceTimeAsync(TimeSpan.FromSeconds(10)); // both back-offs (1 s, then 2 s) run inside this advance
        attempts.Where((_, i) => i != 1).Select(t => t - DateTimeOffset.UnixEpoch)
            .Should().Equal(TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        driver.WaitingForRetry.Should().Be(0);
        var dead = driver.DeadLetters.Should().ContainSingle().Subject;
        dead.Stage.Should().Be("charge");
        dead.Reason.Should().Be(DeadLetterReason.Failed);
        dead.ExceptionType.Should().Be(typeof(TimeoutException).FullName);
        dead.Message.Should().Be("gateway timed out");
        dead.Attempts.Should().Be(3);
        dead.Event.Should().Be(13);
        driver.Metrics.Retries.Should().Be(2);
        driver.AssertBalanced();
    }

    [Fact]
    public async Task Completing_runs_the_pending_back_offs_on_the_fake_clock()
    {
        var failuresLeft = 2;
        await using var driver = PipelineTestDriver.Start(
            PipelineBuilder.Create<string>("flaky", o => o.Retry = Retry)
                .Sink("out", s =>
                {
                    if (failuresLeft-- > 0)
                    {
                        throw new IOException("disk busy");
                    }
                }));

        await driver.SendAsync("x");
        await driver.CompleteAsync();

        driver.Delivered.Should().Equal("x");
        driver.Now.Should().Be(DateTimeOffset.UnixEpoch + TimeSpan.FromSeconds(3), "the clock moved to the end of each back-off and no further");
        driver.AssertBalanced();
    }

    [Fact]
    public async Task A_dead_letter_replayed_after_the_fault_is_fixed_is_delivered_and_leaves_the_store()
    {
        var down = true;
        await using var driver = PipelineTestDriver.Start(
            PipelineBuilder.Create<int>("replay", o => o.Retry = RetryOptions.None)
                .Transform("double", n => n * 2)
                .Sink("db", n =>
                {
                    if (down)
                    {
                        throw new IOException("db down");
                    }
                }));

        await driver.SendAsync([1, 2]);
        driver.DeadLetters.Select(d => (d.Stage, d.Event)).Should().Equal(("db", (object?)2), ("db", 4));

        down = false;
        var result = await driver.ReplayDeadLettersAsync();

        result.Should().Be(new ReplayResult(2, 0, 0));
        driver.Delivered.Should().Equal(2, 4);
        driver.DeadLetters.Should().BeEmpty();
        driver.Metrics.Replayed.Should().Be(2);
        driver.AssertBalanced();
    }

    [Fact]
    public async Task A_replayed_event_that_fails_again_is_retried_on_the_fake_clock_and_re_recorded()
    {
        await using var driver = PipelineTestDriver.Start(
            PipelineBuilder.Create<int>("still-down", o => o.Retry = Retry)
                .Sink("db", _ => throw new IOException("db down")));

        await driver.SendAsync(7);
        await driver.AdvanceTimeAsync(TimeSpan.FromSeconds(3));
        driver.DeadLetters.Should().ContainSingle().Which.Attempts.Should().Be(3);

        var result = await driver.ReplayDeadLettersAsync();

        result.Should().Be(new ReplayResult(0, 1, 0));
        var entry = driver.DeadLetters.Should().ContainSingle().Subject;
        entry.Replays.Should().Be(1);
        entry.Attempts.Should().Be(6);
        driver.AssertBalanced();
    }
}
