using System.Collections.Concurrent;

namespace EventStream.Tests;

public class PipelineBasicsTests
{
    [Fact]
    public async Task Events_flow_through_transform_filter_enrich_fanout_to_the_sink_in_order()
    {
        var delivered = new List<string>();
        await using var pipeline = PipelineBuilder.Create<int>("basics")
            .Transform("double", x => x * 2)
            .Filter("no-multiples-of-3", x => x % 3 != 0)
            .Enrich("to-text", async (x, ct) => { await Task.Yield(); return $"#{x}"; })
            .FanOut("twice", s => new[] { s + "a", s + "b" })
            .Sink("collect", s => delivered.Add(s))
            .Build();

        for (var i = 1; i <= 5; i++)
        {
            await pipeline.WriteAsync(i);
        }

        await pipeline.CompleteAsync();

        delivered.Should().Equal("#2a", "#2b", "#4a", "#4b", "#8a", "#8b", "#10a", "#10b");
        var m = pipeline.GetMetrics();
        m.Accepted.Should().Be(5);
        m.Filtered.Should().Be(1);
        m.FannedOut.Should().Be(4);
        m.Delivered.Should().Be(8);
        m.InFlight.Should().Be(0);
        (m.Accepted + m.FannedOut).Should().Be(m.Delivered + m.Filtered + m.DeadLettered);
    }

    [Fact]
    public async Task Ingest_admits_a_whole_batch_and_the_sink_sees_every_event()
    {
        var count = 0;
        await using var pipeline = PipelineBuilder.Create<int>("ingest", o => o.BatchSize = 64)
            .Sink("count", _ => Interlocked.Increment(ref count))
            .Build();

        pipeline.Ingest(Enumerable.Range(0, 10_000).ToArray());
        await pipeline.CompleteAsync();

        count.Should().Be(10_000);
        pipeline.GetMetrics().Delivered.Should().Be(10_000);
    }

    [Fact]
    public async Task Concurrent_producers_lose_nothing_and_the_counts_add_up()
    {
        var seen = new ConcurrentDictionary<int, int>();
        await using var pipeline = PipelineBuilder.Create<int>("concurrent", o => { o.Capacity = 100; o.BatchSize = 16; })
            .Filter("odd-out", x => x % 10 != 7)
            .Sink("collect", x => seen.AddOrUpdate(x, 1, (_, n) => n + 1))
            .Build();

        var producers = Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                var value = (p * 5_000) + i;
                switch (i % 3)
                {
                    case 0:
                        await pipeline.WriteAsync(value);
                        break;
                    case 1:
                        while (!pipeline.TryWrite(value))
                        {
                            await Task.Yield();
                        }

                        break;
                    default:
                        await pipeline.WriteBatchAsync(new[] { value });
                        break;
                }
            }
        })).ToArray();
        await Task.WhenAll(producers);
        await pipeline.CompleteAsync();

        var m = pipeline.GetMetrics();
        m.Accepted.Should().Be(20_000);
        m.Filtered.Should().Be(2_000);
        m.Delivered.Should().Be(18_000);
        seen.Should().HaveCount(18_000);
        seen.Values.Should().OnlyContain(n => n == 1);
    }
}
