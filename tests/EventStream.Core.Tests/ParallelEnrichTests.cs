namespace EventStream.Tests;

public class ParallelEnrichTests
{
    [Fact]
    public async Task A_parallel_enrich_runs_that_many_calls_at_once_and_keeps_input_order()
    {
        // The first four calls wait until all four are in at once, then finish last-first, so the output must be
        // put back in order; the others pass straight through.
        var current = 0;
        var peak = 0;
        var allIn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = Enumerable.Range(0, 4).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var delivered = new List<int>();
        await using var pipeline = PipelineBuilder.Create<int>("parallel", o => o.BatchSize = 64)
            .Enrich("io", async (int x, CancellationToken ct) =>
            {
                var now = Interlocked.Increment(ref current);
                InterlockedMax(ref peak, now);
                if (now == 4)
                {
                    allIn.TrySetResult();
                }

                if (x < 4)
                {
                    await allIn.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
                    if (x < 3)
                    {
                        await finished[x + 1].Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
                    }
                }
                else
                {
                    await Task.Yield();
                }

                Interlocked.Decrement(ref current);
                if (x < 4)
                {
                    finished[x].TrySetResult();
                }

                return x;
            }, new StageOptions { Parallelism = 4 })
            .Sink("s", x => delivered.Add(x))
            .Build();

        pipeline.Ingest(Enumerable.Range(0, 200).ToArray());
        await pipeline.CompleteAsync();

        delivered.Should().Equal(Enumerable.Range(0, 200));
        peak.Should().Be(4, "four calls run at once, never more");
        allIn.Task.IsCompletedSuccessfully.Should().BeTrue();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
