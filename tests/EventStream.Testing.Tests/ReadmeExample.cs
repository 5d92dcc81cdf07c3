using EventStream;
using EventStream.Testing;

namespace MyApp.Tests;

public record PageView(string Url, long At, bool Bot = false);

public static class MyPipelines
{
    // The pipeline as the application builds it; the test passes its own sink.
    public static PipelineBuilder<PageView, WindowResult<string, long>> PageViews(Func<WindowResult<string, long>, CancellationToken, ValueTask> save) =>
        PipelineBuilder.Create<PageView>("page-views", o => o.Retry = new RetryOptions { BaseDelay = TimeSpan.FromSeconds(1), UseJitter = false })
            .Filter("humans", v => !v.Bot)
            .Window("per-url", new WindowOptions<PageView, string>
            {
                Assigner = WindowAssigner.Tumbling(TimeSpan.FromMinutes(1)),
                Key = v => v.Url,
                Timestamp = v => v.At,
                EarlyFiringInterval = TimeSpan.FromSeconds(10),
            }, Aggregates.Count<PageView>())
            .Sink("save", save);
}

public class PageViewsSpec
{
    [Fact]
    public async Task Counts_humans_per_url_live_then_final_and_retries_a_failed_save()
    {
        var failures = 1; // the first save of a final result fails
        await using var driver = PipelineTestDriver.Start(MyPipelines.PageViews((result, ct) =>
            result.Firing == WindowFiring.OnTime && failures-- > 0
                ? ValueTask.FromException(new IOException("database busy"))
                : ValueTask.CompletedTask));

        await driver.SendAsync([new PageView("/home", 1_000), new PageView("/home", 2_000), new PageView("/home", 3_000, Bot: true)]);
        await driver.AdvanceTimeAsync(TimeSpan.FromSeconds(10));          // an early firing for the live dashboard
        await driver.SendAsync(new PageView("/docs", 60_000));             // the watermark passes the first minute
        await driver.AdvanceTimeAsync(TimeSpan.FromSeconds(1));           // the failed save's back-off ends: retried

        driver.WindowResults<string, long>("per-url").Select(r => (r.Key, r.Value, r.Firing, r.FiringNumber))
            .Should().Equal(("/home", 2L, WindowFiring.Early, 1), ("/home", 2L, WindowFiring.OnTime, 2));
        driver.Delivered.Should().HaveCount(2);
        driver.Metrics.Retries.Should().Be(1);
        driver.DeadLetters.Should().BeEmpty();
        driver.AssertBalanced();
    }
}
