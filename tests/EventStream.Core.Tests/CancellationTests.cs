
namespace EventStream.Tests;

/// <summary>What a cancellation does to events that are between segments.</summary>
public sealed class CancellationTests
{
    [Fact]
    public async Task A_batch_forwarded_while_the_pipeline_is_cancelled_is_dead_lettered_not_lost()
    {
        // Two segments: the sink has a queue of its own. The transform holds the last event of the only batch until the
        // sink's worker has stopped (it disposes its retry timer then: the second timer made, after the first segment's),
        // and then lets the batch go on into the sink's queue. That batch must end as Canceled dead letters; a queue
        // drained by its stopping worker used to refuse it, lose all eight events and fault the completion.
        var time = new TrackingTimeProvider();
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        var pipeline = PipelineBuilder.Create<int>("forward-on-cancel", o => { o.TimeProvider = time; o.BatchSize = 8; })
            .Transform("hold", x =>
            {
                if (x == 7)
                {
                    holding.TrySetResult();
                    release.Wait();
                }

                return x;
            })
            .Sink("s", _ => { }, new StageOptions { Capacity = 100 })
            .Build();
        await pipeline.WriteBatchAsync(Enumerable.Range(0, 8).ToArray());
        await holding.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var dispose = pipeline.DisposeAsync().AsTask();
        await TestSupport.Eventually(() => time.Timers.Count >= 2 && time.Timers[1].Disposed, "the sink's worker has stopped");
        release.Set();
        await dispose.WaitAsync(TimeSpan.FromSeconds(10));

        pipeline.Completion.IsCanceled.Should().BeTrue("a cancelled pipeline completes as cancelled, not faulted");
        var m = pipeline.GetMetrics();
        m.Accepted.Should().Be(8);
        m.DeadLettered.Should().Be(8);
        m.ShouldBeBalanced();
        var letters = await pipeline.DeadLetters.ListAsync("forward-on-cancel", 100);
        letters.Should().HaveCount(8).And.OnlyContain(e => e.Reason == DeadLetterReason.Canceled && e.Stage == "s");
    }
}
