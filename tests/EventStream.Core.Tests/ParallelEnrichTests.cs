namespace EventStream.Tests;

public class ParallelEnrichTests
{
    [Fact]
    public async Task A_parallel_enrich_runs_that_many_calls_at_once_and_keeps_input_order()
    {
        var current = 0;
        var peak = 0;
        var delivered = new List<int>();
        await using var pipeline = PipelineBuilder.Create<int>("parallel", o => o.BatchSize = 64)
            .Enrich("io", async (int x, CancellationToken ct) =>
            {
                var now = Interlocked.Increment(ref current);
                InterlockedMax(ref peak, now);
                await Task.Delay(x % 3 == 0 ? 5 : 1, ct);
                Interlocked.Decrement(ref current);
                return x;
            }, new StageOptions { Parallelism = 4 })
            .Sink("s", x => delivered.Add(x))
            .Build();

        pipeline.Ingest(Enumerable.Range(0, 200).ToArray());
        await pipeline.CompleteAsync();

        delivered.Should().Equal(Enumerable.Range(0, 200));
        peak.Should().Be(4);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
