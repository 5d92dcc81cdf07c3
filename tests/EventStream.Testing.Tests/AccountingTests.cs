using EventStream.Testing;

namespace EventStream.Testing.Tests;

public sealed class AccountingTests
{
    [Fact]
    public void An_unbalanced_snapshot_fails_with_a_message_that_names_every_term()
    {
        var metrics = new PipelineMetrics { Pipeline = "orders", Stages = [], Accepted = 10, Delivered = 6, Filtered = 2, DeadLettered = 1 };

        FluentActions.Invoking(() => PipelineAccounting.AssertBalanced(metrics))
            .Should().Throw<PipelineAccountingException>()
            .WithMessage("Pipeline 'orders' does not balance: 1 event(s) unaccounted for (brought in, never taken out). Brought in 10 = accepted 10 + fanned out 0 + replayed 0 + window results 0; taken out 9 = delivered 6 + filtered 2 + dead-lettered 1 + late 0 + duplicates 0 + windowed 0 + waiting for a retry 0.");
    }

    [Fact]
    public void An_event_counted_out_twice_is_reported_as_such()
    {
        var metrics = new PipelineMetrics { Pipeline = "p", Stages = [], Accepted = 2, Delivered = 2, Late = 1 };

        FluentActions.Invoking(() => PipelineAccounting.AssertBalanced(metrics))
            .Should().Throw<PipelineAccountingException>().WithMessage("*1 event(s) taken out more than once*late 1*");
    }

    [Fact]
    public void Events_waiting_for_a_retry_balance_the_in_flight_count()
    {
        var metrics = new PipelineMetrics { Pipeline = "p", Stages = [], Accepted = 3, Delivered = 2, InFlight = 1 };

        PipelineAccounting.AssertBalanced(metrics, waitingForRetry: 1);
        FluentActions.Invoking(() => PipelineAccounting.AssertBalanced(metrics))
            .Should().Throw<PipelineAccountingException>().WithMessage("*1 event(s) unaccounted for*");
    }

    [Fact]
    public async Task The_driver_checks_that_its_store_holds_exactly_the_dead_letters_not_replayed_or_discarded()
    {
        await using var driver = PipelineTestDriver.Start(
            PipelineBuilder.Create<int>("store", o => o.Retry = RetryOptions.None).Sink("out", _ => throw new IOException("down")));
        await driver.SendAsync([1, 2]);
        driver.AssertBalanced();

        // An entry removed behind the pipeline's back (not replayed, not discarded through it) is an unbalanced store.
        await driver.Pipeline.DeadLetters.RemoveAsync(driver.DeadLetters[0].Id);
        await driver.AdvanceTimeAsync(TimeSpan.Zero);

        driver.Invoking(d => d.AssertBalanced()).Should().Throw<PipelineAccountingException>()
            .WithMessage("Pipeline 'store': its dead-letter store holds 1 entries, but dead-lettered 2 + late 0 - taken by a late output 0 - replayed 0 - discarded 0 = 2.");
    }
}
