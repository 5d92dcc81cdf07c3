using EventStream.DeadLetters;
using EventStream.Retry;
using Microsoft.Extensions.Time.Testing;

namespace EventStream.Tests;

public class BackpressureTests
{
    [Fact]
    public async Task WriteAsync_waits_while_the_input_queue_is_full_and_resumes_when_it_drains()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pipeline = PipelineBuilder.Create<int>("full", o => { o.Capacity = 4; o.BatchSize = 2; })
            .Sink("blocked", async (_, ct) => await gate.Task.WaitAsync(ct), new StageOptions { Capacity = 4 })
            .Build();

        // The sink holds one event; its batch and the queue fill up behind it.
        var writes = new List<Task>();
        for (var i = 0; i < 20; i++)
        {
            writes.Add(pipeline.WriteAsync(i).AsTask());
        }

        // Writers wait once the queue is full and are let in again only when it has drained to half (hysteresis), so a
        // blocked queue holds between half and all of its capacity: 3 or 4 events here.
        await TestSupport.Eventually(() => pipeline.GetMetrics().Stages[0].QueueDepth >= 3, "the queue fills");
        writes.Count(w => !w.IsCompleted).Should().BeGreaterThan(0, "a full queue makes writers wait");
        pipeline.TryWrite(99).Should().BeFalse();

        gate.SetResult();
        await Task.WhenAll(writes);
        await pipeline.CompleteAsync();
        var m = pipeline.GetMetrics();
        m.Accepted.Should().Be(20);
        m.Rejected.Should().Be(1);
        m.Delivered.Should().Be(20);
    }

    [Fact]
    public async Task Ingest_rejects_a_whole_batch_past_the_threshold_with_a_retry_after_and_admits_none_of_it()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pipeline = PipelineBuilder.Create<int>("threshold", o => { o.BackpressureThreshold = 100; o.BatchSize = 10; })
            .Sink("blocked", async (_, ct) => await gate.Task.WaitAsync(ct))
            .Build();

        pipeline.Ingest(Enumerable.Range(0, 90).ToArray());
        var act = () => pipeline.Ingest(Enumerable.Range(0, 20).ToArray());

        var ex = act.Should().Throw<BackpressureException>().Which;
        ex.Message.Should().Contain("'threshold'").And.Contain("100");
        ex.Pending.Should().Be(90);
        ex.Rejected.Should().Be(20);
        ex.RetryAfter.Should().BePositive();
        pipeline.GetMetrics().Accepted.Should().Be(90);
        pipeline.GetMetrics().Rejected.Should().Be(20);

        pipeline.Ingest(Enumerable.Range(0, 10).ToArray()); // exactly up to the threshold is fine
        gate.SetResult();
        await pipeline.CompleteAsync();
        pipeline.GetMetrics().Delivered.Should().Be(100);
    }

    [Fact]
    public async Task RetryAfter_comes_from_the_measured_drain_rate()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero));
        var release = new SemaphoreSlim(0);
        await using var pipeline = PipelineBuilder.Create<int>("rate", o => { o.TimeProvider = time; o.BackpressureThreshold = 1_000; o.BatchSize = 100; })
            .Sink("metered", async (_, ct) => await release.WaitAsync(ct))
            .Build();

        // Drain 100 events per fake second for 5 seconds: a drain rate of 100/s.
        pipeline.Ingest(Enumerable.Range(0, 1_000).ToArray());
        for (var s = 0; s < 5; s++)
        {
            var target = (s + 1) * 100;
            release.Release(100);
            await TestSupport.Eventually(() => pipeline.GetMetrics().Delivered == target, $"{target} delivered");
            time.Advance(TimeSpan.FromSeconds(1));
        }

        pipeline.GetMetrics().ThroughputPerSecond.Should().BeApproximately(100, 0.001);
        var act = () => pipeline.Ingest(Enumerable.Range(0, 600).ToArray());

        // 500 in flight + 600 incoming - 1000 allowed = 100 over, but at least the batch must drain: 600 / 100/s = 6 s.
        act.Should().Throw<BackpressureException>().Which.RetryAfter.Should().Be(TimeSpan.FromSeconds(6));
        release.Release(10_000);
        await pipeline.CompleteAsync();
    }

    [Fact]
    public async Task A_cancelled_wait_admits_nothing()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pipeline = PipelineBuilder.Create<int>("cancel-wait", o => { o.Capacity = 1; o.BatchSize = 1; })
            .Sink("blocked", async (_, ct) => await gate.Task.WaitAsync(ct), new StageOptions { Capacity = 1 })
            .Build();
        await pipeline.WriteAsync(1);
        await TestSupport.Eventually(() => pipeline.GetMetrics().Stages[0].QueueDepth == 0, "the sink took the first event");
        await pipeline.WriteAsync(2); // fills the queue of capacity 1

        using var cts = new CancellationTokenSource();
        var waiting = pipeline.WriteAsync(3, cts.Token).AsTask();
        waiting.IsCompleted.Should().BeFalse();
        await cts.CancelAsync();

        await waiting.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        gate.SetResult();
        await pipeline.CompleteAsync();
        var m = pipeline.GetMetrics();
        m.Accepted.Should().Be(2);
        m.Delivered.Should().Be(2);
    }

    [Fact]
    public async Task Writing_after_completion_fails_with_a_clear_error()
    {
        await using var pipeline = PipelineBuilder.Create<int>("closed").Sink("s", _ => { }).Build();
        await pipeline.CompleteAsync();

        var act = async () => await pipeline.WriteAsync(1);

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*completed*");
    }

    [Fact]
    public async Task A_full_dead_letter_store_in_reject_mode_keeps_every_dead_letter_and_rejects_new_events()
    {
        var store = new InMemoryDeadLetterStore(new InMemoryDeadLetterStoreOptions { Capacity = 3, FullMode = DeadLetterFullMode.RejectIngest });
        await using var pipeline = PipelineBuilder.Create<int>("dlq-full", o => { o.DeadLetterStore = store; o.Retry = RetryOptions.None; })
            .Transform("fail", int (x) => throw new IOException("down"))
            .Sink("s", _ => { })
            .Build();

        pipeline.Ingest(Enumerable.Range(0, 5).ToArray());
        await TestSupport.Eventually(() => pipeline.GetMetrics().DeadLettered == 5, "all five dead-lettered");

        store.Count.Should().Be(5, "nothing admitted is dropped, even past the capacity");
        store.IsFull.Should().BeTrue();
        var ingest = () => pipeline.Ingest(new[] { 6 });
        ingest.Should().Throw<DeadLetterStoreFullException>().WithMessage("*dead-letter store is full*");
        pipeline.TryWrite(7).Should().BeFalse();

        foreach (var entry in await store.ListAsync(limit: 3))
        {
            await store.RemoveAsync(entry.Id);
        }

        store.IsFull.Should().BeFalse();
        pipeline.TryWrite(8).Should().BeTrue();
    }

    [Fact]
    public async Task A_full_dead_letter_store_in_wait_mode_stalls_the_failing_stage_until_room_is_made()
    {
        var store = new InMemoryDeadLetterStore(new InMemoryDeadLetterStoreOptions { Capacity = 2, FullMode = DeadLetterFullMode.Wait });
        await using var pipeline = PipelineBuilder.Create<int>("dlq-wait", o => { o.DeadLetterStore = store; o.Retry = RetryOptions.None; o.BatchSize = 1; })
            .Transform("fail", int (x) => throw new IOException("down"))
            .Sink("s", _ => { })
            .Build();

        pipeline.Ingest(Enumerable.Range(0, 4).ToArray());
        await TestSupport.Eventually(() => store.Count == 2, "store full");
        await Task.Delay(50);
        store.Count.Should().Be(2, "the stage waits for room instead of dropping");
        pipeline.GetMetrics().InFlight.Should().BeGreaterThan(0);

        var first = (await store.ListAsync())[0];
        await store.RemoveAsync(first.Id);
        await TestSupport.Eventually(() => store.Count == 2 && pipeline.GetMetrics().DeadLettered == 3, "one more recorded");
        foreach (var entry in await store.ListAsync())
        {
            await store.RemoveAsync(entry.Id);
        }

        await pipeline.CompleteAsync();
        pipeline.GetMetrics().ShouldBeBalanced();
    }
}
