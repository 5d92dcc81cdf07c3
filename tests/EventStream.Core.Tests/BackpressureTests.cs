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
        ex.RetryAfter.Should().Be(TimeSpan.FromSeconds(1), "nothing has drained yet, so there is no rate to estimate from and the estimate is the 1 s default");
        pipeline.GetMetrics().Accepted.Should().Be(90);
        pipeline.GetMetrics().Rejected.Should().Be(20);

        pipeline.Ingest(Enumerable.Range(0, 10).ToArray()); // exactly up to the threshold is fine
        gate.SetResult();
        await pipeline.CompleteAsync();
        pipeline.GetMetrics().Delivered.Should().Be(100);
    }

    [Fact]
    public async Task A_waiting_writer_is_let_in_only_once_the_queue_has_drained_to_half_its_capacity()
    {
        // One event per batch and a sink that takes one event per permit: each permit takes exactly one event off the
        // queue, and the sink's entering the next event says that it has been taken.
        var permits = new SemaphoreSlim(0);
        var entered = new SemaphoreSlim(0);
        await using var pipeline = PipelineBuilder.Create<int>("half", o => { o.Capacity = 6; o.BatchSize = 1; })
            .Sink("metered", async (_, ct) => { entered.Release(); await permits.WaitAsync(ct); })
            .Build();
        await pipeline.WriteAsync(0);
        (await entered.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeTrue("the sink takes the first event");
        for (var i = 1; i <= 6; i++)
        {
            await pipeline.WriteAsync(i); // fills the queue: 6 of 6
        }

        var waiting = pipeline.WriteAsync(7).AsTask();
        pipeline.GetMetrics().Should().Match<PipelineMetrics>(m => m.Accepted == 7 && m.Stages[0].QueueDepth == 6, "the queue is full and the writer waits");

        // 6 -> 5 -> 4: more than half full, the writer is kept out (it would be counted and queued at once if let in).
        for (var depth = 5; depth >= 4; depth--)
        {
            permits.Release();
            (await entered.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
            var m = pipeline.GetMetrics();
            m.Stages[0].QueueDepth.Should().Be(depth);
            m.Accepted.Should().Be(7, "a queue of {0} of 6 is more than half full", depth);
        }

        // 4 -> 3: half full, the writer is let in as the event is taken, so the queue holds 4 again.
        permits.Release();
        (await entered.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
        pipeline.GetMetrics().Should().Match<PipelineMetrics>(m => m.Accepted == 8 && m.Stages[0].QueueDepth == 4, "the queue drained to half its capacity");
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        permits.Release(100);
        await waiting;
        await pipeline.CompleteAsync();
        pipeline.GetMetrics().Delivered.Should().Be(8);
    }

    [Fact]
    public async Task Concurrent_ingests_never_push_the_events_in_flight_past_the_threshold()
    {
        // Two producers ingest 60 events each against a threshold of 100 while nothing drains: at most one batch fits.
        // The clock makes the two calls meet inside Ingest (each producer's first reading of the clock waits, up to 5 s,
        // for the other's), which is an interleaving any two concurrent callers may hit.
        var time = new RendezvousTimeProvider(parties: 2, TimeSpan.FromSeconds(5));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pipeline = PipelineBuilder.Create<int>("racing", o => { o.TimeProvider = time; o.BackpressureThreshold = 100; o.BatchSize = 60; })
            .Sink("blocked", async (_, ct) => await gate.Task.WaitAsync(ct))
            .Build();

        var producers = Enumerable.Range(0, 2).Select(p => Task.Run(() =>
        {
            time.JoinRendezvous();
            try
            {
                pipeline.Ingest(Enumerable.Range(p * 60, 60).ToArray());
                return true;
            }
            catch (BackpressureException)
            {
                return false;
            }
        })).ToArray();
        var admitted = await Task.WhenAll(producers);

        var m = pipeline.GetMetrics();
        m.InFlight.Should().BeLessThanOrEqualTo(100, "the threshold bounds the events in flight, however many producers ingest at once");
        admitted.Count(a => a).Should().Be(1);
        m.Accepted.Should().Be(60);
        m.Rejected.Should().Be(60);
        gate.SetResult();
        await pipeline.CompleteAsync();
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

    [Theory]
    [InlineData("WriteAsync")]
    [InlineData("WriteBatchAsync")]
    [InlineData("TryWrite")]
    [InlineData("Ingest")]
    public async Task Writing_after_completion_fails_with_a_clear_error(string door)
    {
        await using var pipeline = PipelineBuilder.Create<int>("closed").Sink("s", _ => { }).Build();
        await pipeline.CompleteAsync();

        Func<Task> act = door switch
        {
            "WriteAsync" => async () => await pipeline.WriteAsync(1),
            "WriteBatchAsync" => async () => await pipeline.WriteBatchAsync(new[] { 1, 2, 3 }),
            "TryWrite" => () => Task.FromResult(pipeline.TryWrite(1)),
            _ => () => { pipeline.Ingest(new[] { 1, 2, 3 }); return Task.CompletedTask; },
        };

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*completed*");
        var m = pipeline.GetMetrics();
        m.Accepted.Should().Be(0, "a completed pipeline admits nothing, through any door");
        m.Delivered.Should().Be(0);
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
        ingest.Should().Throw<DeadLetterStoreFullException>().WithMessage("*dead-letter store is full*")
            .Which.Should().NotBeAssignableTo<BackpressureException>("waiting does not empty a dead-letter store: a caller that retries on backpressure must not retry this (issue 11)");
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
        var observed = new ObservedDeadLetterStore(store);
        await using var pipeline = PipelineBuilder.Create<int>("dlq-wait", o => { o.DeadLetterStore = observed; o.Retry = RetryOptions.None; o.BatchSize = 1; })
            .Transform("fail", int (x) => throw new IOException("down"))
            .Sink("s", _ => { })
            .Build();

        pipeline.Ingest(Enumerable.Range(0, 4).ToArray());
        await TestSupport.Eventually(() => observed.AddsStarted == 3, "the third failure is being recorded");
        observed.AddsFinished.Should().Be(2, "the third add waits for room");
        store.Count.Should().Be(2, "the stage waits for room instead of dropping");
        pipeline.GetMetrics().Should().Match<PipelineMetrics>(
            m => m.DeadLettered == 2 && m.InFlight == 2,
            "the waiting event counts as dead-lettered only once it is recorded, and the last one waits behind it");

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
