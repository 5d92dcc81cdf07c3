using EventStream.Testing;

namespace EventStream.Testing.Tests;

public sealed class StatelessPipelineTests
{
    private sealed record Order(string Id, decimal Amount);

    [Fact]
    public async Task Each_send_returns_with_the_event_through_the_transform_filter_and_sink()
    {
        var saved = new List<string>();
        await using var driver = PipelineTestDriver.Start(
            PipelineBuilder.Create<Order>("orders")
                .Filter("paid", o => o.Amount > 0)
                .Transform("label", o => $"{o.Id}:{o.Amount}")
                .Sink("save", saved.Add));

        await driver.SendAsync(new Order("a", 10));
        driver.Delivered.Should().Equal("a:10");

        await driver.SendAsync([new Order("b", 0), new Order("c", 5)]);
        driver.Delivered.Should().Equal("a:10", "c:5");
        saved.Should().Equal(driver.Delivered, "the user's own sink received the same events");
        driver.Metrics.Filtered.Should().Be(1);
        driver.AssertBalanced();
    }

    [Fact]
    public async Task A_sink_on_a_worker_of_its_own_and_an_async_enrich_settle_before_each_step_returns()
    {
        await using var driver = PipelineTestDriver.Start(
            PipelineBuilder.Create<int>("hops")
                .Enrich("lookup", async (n, ct) =>
                {
                    await Task.Yield();
                    return n * 10;
                }, new StageOptions { Parallelism = 4 })
                .FanOut("twice", n => new[] { n, n + 1 })
                .Sink("out", (n, ct) => ValueTask.CompletedTask, new StageOptions { Capacity = 2 }));

        await driver.SendAsync(Enumerable.Range(1, 50));

        driver.Delivered.Should().HaveCount(100).And.StartWith(new[] { 10, 11, 20, 21 });
        driver.Metrics.Delivered.Should().Be(100);
        driver.AssertBalanced();
    }

    [Fact]
    public async Task The_pipeline_runs_on_the_drivers_clock()
    {
        DateTimeOffset? seen = null;
        PipelineTestDriver<int, int>? driver = null;
        await using (driver = PipelineTestDriver.Start(
            PipelineBuilder.Create<int>("clock").Sink("out", _ => seen = driver!.Clock.GetUtcNow()),
            new PipelineTestDriverOptions { StartTime = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero) }))
        {
            await driver.AdvanceTimeAsync(TimeSpan.FromMinutes(5));
            await driver.SendAsync(1);

            seen.Should().Be(new DateTimeOffset(2024, 5, 1, 12, 5, 0, TimeSpan.Zero));
            driver.Metrics.Timestamp.Should().Be(driver.Now);
        }
    }

    [Fact]
    public async Task Completing_drains_the_pipeline_and_later_sends_fail()
    {
        await using var driver = PipelineTestDriver.Start(PipelineBuilder.Create<int>("done").Sink("out", _ => { }));
        await driver.SendAsync(1);

        await driver.CompleteAsync();

        driver.Pipeline.Completion.IsCompletedSuccessfully.Should().BeTrue();
        await driver.Invoking(d => d.SendAsync(2)).Should().ThrowAsync<InvalidOperationException>();
        driver.AssertBalanced();
    }

    [Fact]
    public async Task A_builder_already_built_or_without_a_sink_is_refused_with_a_clear_error()
    {
        var sinked = PipelineBuilder.Create<int>("built").Sink("out", _ => { });
        await using (sinked.Build())
        {
            FluentActions.Invoking(() => PipelineTestDriver.Start(sinked)).Should().Throw<ArgumentException>().WithMessage("*already built*");
        }

        FluentActions.Invoking(() => PipelineTestDriver.Start(PipelineBuilder.Create<int>("no-sink").Transform("t", n => n)))
            .Should().Throw<PipelineConfigurationException>().WithMessage("*no sink*");
    }
}
