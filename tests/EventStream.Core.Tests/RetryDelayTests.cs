using System.Collections.Concurrent;

namespace EventStream.Tests;

/// <summary>The back-off between attempts, as the pipeline clock sees it: each delay is the due time of the timer a retry waits on.</summary>
public class RetryDelayTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Retry_delays_grow_by_the_backoff_multiplier()
    {
        var retry = new RetryOptions { MaxAttempts = 4, BaseDelay = TimeSpan.FromMilliseconds(100), BackoffMultiplier = 3, MaxDelay = TimeSpan.FromMinutes(1), UseJitter = false };

        var delays = await DelaysOfOneEventFailingAsync(retry, failures: 3);

        delays.Should().Equal(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(900));
    }

    [Fact]
    public async Task A_retry_delay_is_capped_at_MaxDelay()
    {
        var retry = new RetryOptions { MaxAttempts = 5, BaseDelay = TimeSpan.FromMilliseconds(100), BackoffMultiplier = 3, MaxDelay = TimeSpan.FromMilliseconds(500), UseJitter = false };

        var delays = await DelaysOfOneEventFailingAsync(retry, failures: 4);

        delays.Should().Equal(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task Jitter_keeps_each_retry_delay_within_a_quarter_of_its_back_off_and_varies_it()
    {
        var retry = new RetryOptions { MaxAttempts = 4, BaseDelay = TimeSpan.FromMilliseconds(100), BackoffMultiplier = 2, MaxDelay = TimeSpan.FromMinutes(1), UseJitter = true };
        var ratios = new List<double>();

        for (var run = 0; run < 10; run++)
        {
            var delays = await DelaysOfOneEventFailingAsync(retry, failures: 3);
            ratios.AddRange(delays.Select((d, i) => d.TotalMilliseconds / (100 * Math.Pow(2, i))));
        }

        ratios.Should().OnlyContain(r => r >= 0.75 && r <= 1.25, "a jittered delay stays within ±25 % of the back-off");
        ratios.Distinct().Should().HaveCountGreaterThan(1, "jitter randomises the delays");
    }

    [Fact]
    public async Task A_jittered_retry_delay_never_exceeds_MaxDelay()
    {
        // MaxDelay is documented as the cap on a single delay; jitter must not lift a capped delay above it.
        var retry = new RetryOptions { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(100), BackoffMultiplier = 2, MaxDelay = TimeSpan.FromMilliseconds(100), UseJitter = true };
        var delays = new List<TimeSpan>();

        for (var run = 0; run < 10; run++)
        {
            delays.AddRange(await DelaysOfOneEventFailingAsync(retry, failures: 2));
        }

        delays.Should().OnlyContain(d => d <= TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Jittered_delays_at_the_cap_are_spread_below_it_not_all_equal_to_it()
    {
        // Events failing together through a long outage must not retry in lock-step at exactly MaxDelay.
        var retry = new RetryOptions { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(100), BackoffMultiplier = 2, MaxDelay = TimeSpan.FromMilliseconds(100), UseJitter = true };
        var delays = new List<TimeSpan>();

        for (var run = 0; run < 10; run++)
        {
            delays.AddRange(await DelaysOfOneEventFailingAsync(retry, failures: 2));
        }

        delays.Should().OnlyContain(d => d >= TimeSpan.FromMilliseconds(75) && d <= TimeSpan.FromMilliseconds(100));
        delays.Should().NotContain(TimeSpan.FromMilliseconds(100), "a capped delay is spread over 75-100 % of the cap, not cut to it (cutting put about half of them exactly on it)");
    }

    /// <summary>
    /// Runs one event through a stage that fails it <paramref name="failures"/> times, moving the clock by each retry's
    /// delay once the retry has been scheduled, and checks that each attempt is made when its delay has passed.
    /// </summary>
    private static async Task<IReadOnlyList<TimeSpan>> DelaysOfOneEventFailingAsync(RetryOptions retry, int failures)
    {
        var time = new ArmingTimeProvider(Start);
        var attempts = new ConcurrentQueue<DateTimeOffset>();
        await using var pipeline = PipelineBuilder.Create<int>("delays", o => { o.TimeProvider = time; o.Retry = retry; })
            .Transform("flaky", x =>
            {
                attempts.Enqueue(time.GetUtcNow());
                return attempts.Count <= failures ? throw new IOException("flaky") : x;
            })
            .Sink("s", _ => { })
            .Build();

        await pipeline.WriteAsync(1);
        var delays = new List<TimeSpan>();
        for (var n = 1; n <= failures; n++)
        {
            var delay = await time.ArmedAsync(n);
            delays.Add(delay);
            time.Advance(delay);
            await TestSupport.Eventually(() => attempts.Count == n + 1, $"attempt {n + 1}");
            attempts.Last().Should().Be(Start + delays.Aggregate(TimeSpan.Zero, (a, b) => a + b), "attempt {0} is made once its delay has passed", n + 1);
        }

        await pipeline.CompleteAsync();
        pipeline.GetMetrics().Should().Match<PipelineMetrics>(m => m.Delivered == 1 && m.Retries == failures);
        return delays;
    }
}
