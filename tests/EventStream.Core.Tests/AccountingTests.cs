using System.Collections.Concurrent;
using EventStream.DeadLetters;
using EventStream.Retry;
using Microsoft.Extensions.Time.Testing;

namespace EventStream.Tests;

/// <summary>The invariant: every event admitted ends exactly once delivered, filtered or dead-lettered.</summary>
public class AccountingTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Under_random_failures_and_concurrent_producers_every_event_is_accounted_for_exactly_once(int seed)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero));
        var store = new InMemoryDeadLetterStore();
        var delivered = new ConcurrentDictionary<int, int>();
        var filteredIds = new ConcurrentDictionary<int, byte>();
        var fate = new Fates(seed);
        await using var pipeline = PipelineBuilder.Create<int>($"random-{seed}", o =>
            {
                o.TimeProvider = time;
                o.DeadLetterStore = store;
                o.Capacity = 64;
                o.BatchSize = 16;
                o.Retry = new RetryOptions { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(10), UseJitter = true };
            })
            .Transform("parse", x => fate.MaybeFail("parse", x))
            .Filter("sample", x => { var keep = x % 7 != 0; if (!keep) { filteredIds[x] = 0; } return keep; })
            .Enrich("lookup", async (int x, CancellationToken _) => { if (x % 5 == 0) { await Task.Yield(); } return fate.MaybeFail("lookup", x); }, new StageOptions { Parallelism = 1 + (seed % 3) })
            .Sink("store", x => { fate.MaybeFail("store", x); delivered.AddOrUpdate(x, 1, (_, n) => n + 1); })
            .Build();

        const int producers = 4;
        const int perProducer = 2_500;
        var writers = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < perProducer; i += 50)
            {
                var chunk = Enumerable.Range((p * perProducer) + i, 50).ToArray();
                if (i % 100 == 0)
                {
                    await pipeline.WriteBatchAsync(chunk);
                }
                else
                {
                    foreach (var x in chunk)
                    {
                        await pipeline.WriteAsync(x);
                    }
                }
            }
        })).ToArray();
        await time.DriveUntil(Task.WhenAll(writers), TimeSpan.FromMilliseconds(20));
        await time.DriveUntil(pipeline.CompleteAsync(), TimeSpan.FromMilliseconds(20));

        var m = pipeline.GetMetrics();
        m.Accepted.Should().Be(producers * perProducer);
        m.ShouldBeBalanced();
        var deadIds = (await store.ListAsync(limit: int.MaxValue)).Select(e => (int)e.Event!).ToList();
        deadIds.Should().OnlyHaveUniqueItems();
        delivered.Values.Should().OnlyContain(n => n == 1, "a delivered event is never delivered twice");
        var all = delivered.Keys.Concat(filteredIds.Keys).Concat(deadIds).ToList();
        all.Should().OnlyHaveUniqueItems("no event has two fates");
        all.Should().HaveCount(producers * perProducer, "no event is lost");
        deadIds.Should().BeEquivalentTo(fate.ExpectedDead(producers * perProducer, filteredIds.Keys));
    }

    [Fact]
    public async Task Cancelling_the_pipeline_mid_stream_dead_letters_what_it_held_and_loses_nothing()
    {
        var store = new InMemoryDeadLetterStore();
        var delivered = 0;
        var sinkCalls = 0;
        var pipeline = PipelineBuilder.Create<int>("cancel", o => { o.DeadLetterStore = store; o.Capacity = 200; o.BatchSize = 10; })
            .Transform("t", x => x)
            .Enrich("slow", async (int x, CancellationToken ct) => { await Task.Delay(1, ct); return x; }, new StageOptions { Parallelism = 4, Capacity = 50 })
            .Sink("s", async (int _, CancellationToken ct) =>
            {
                if (Interlocked.Increment(ref sinkCalls) > 30)
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }

                Interlocked.Increment(ref delivered);
            }, new StageOptions { Capacity = 50 })
            .Build();

        using var stop = new CancellationTokenSource();
        var producer = Task.Run(async () =>
        {
            try
            {
                for (var i = 0; ; i++)
                {
                    await pipeline.WriteAsync(i, stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (InvalidOperationException)
            {
            }
        });
        await TestSupport.Eventually(() => Volatile.Read(ref sinkCalls) > 30 && pipeline.GetMetrics().Accepted > 200, "the pipeline is full and stuck");

        using var completeTimeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var complete = () => pipeline.CompleteAsync(completeTimeout.Token);
        await complete.Should().ThrowAsync<OperationCanceledException>();
        await stop.CancelAsync();
        await producer;

        await pipeline.DisposeAsync();
        pipeline.Completion.IsCanceled.Should().BeTrue();
        var m = pipeline.GetMetrics();
        m.ShouldBeBalanced();
        m.Delivered.Should().Be(delivered);
        var entries = await store.ListAsync(limit: int.MaxValue);
        entries.Should().HaveCount((int)m.DeadLettered);
        entries.Should().OnlyContain(e => e.Reason == DeadLetterReason.Canceled);
        entries.Select(e => e.Stage).Distinct().Should().BeSubsetOf(new[] { "t", "slow", "s" });
    }

    [Theory]
    [InlineData(8)]
    [InlineData(3)]
    public async Task Cancelling_while_an_async_stage_waits_to_hand_its_output_on_loses_nothing(int batchSize)
    {
        // An async stage (its batch continues asynchronously) whose output queue is full: the cancellation arrives while
        // it waits to write, with the rest of its input batch not yet processed.
        var store = new InMemoryDeadLetterStore();
        var pipeline = PipelineBuilder.Create<int>("cancel-forward", o => { o.DeadLetterStore = store; o.BatchSize = batchSize; })
            .Enrich("async", async (int x, CancellationToken ct) => { await Task.Yield(); return x; })
            .Sink("stuck", async (int _, CancellationToken ct) => await Task.Delay(Timeout.Infinite, ct), new StageOptions { Capacity = 4 })
            .Build();
        pipeline.Ingest(Enumerable.Range(0, 64).ToArray()); // one input batch, handed on in batches of batchSize
        await Task.Delay(300); // the sink holds its first event; its queue fills; the async stage waits mid-batch to write

        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await FluentActions.Awaiting(() => pipeline.CompleteAsync(timeout.Token)).Should().ThrowAsync<OperationCanceledException>();
        await pipeline.DisposeAsync();

        pipeline.Completion.IsCanceled.Should().BeTrue("a cancellation, not a fault");
        var m = pipeline.GetMetrics();
        m.Accepted.Should().Be(64);
        m.ShouldBeBalanced();
        m.InFlight.Should().Be(0);
        (await store.ListAsync(limit: int.MaxValue)).Should().HaveCount(64, "every event ends dead-lettered (Canceled): none was delivered");
    }

    [Fact]
    public async Task Disposing_an_idle_pipeline_completes_it_without_dead_letters()
    {
        var pipeline = PipelineBuilder.Create<int>("idle").Sink("s", _ => { }).Build();
        await pipeline.WriteAsync(1);
        await TestSupport.Eventually(() => pipeline.GetMetrics().Delivered == 1, "delivered");

        await pipeline.DisposeAsync();

        pipeline.GetMetrics().ShouldBeBalanced();
        (await pipeline.DeadLetters.CountAsync()).Should().Be(0);
    }

    /// <summary>Deterministic failure plan: per event and stage, transient failures that heal or permanent ones.</summary>
    private sealed class Fates
    {
        private readonly int _seed;
        private readonly ConcurrentDictionary<(string, int), int> _attempts = new();

        public Fates(int seed) => _seed = seed;

        public int MaybeFail(string stage, int x)
        {
            var kind = Kind(stage, x);
            var attempt = _attempts.AddOrUpdate((stage, x), 1, (_, n) => n + 1);
            return kind switch
            {
                1 when attempt == 1 => throw new IOException($"transient {stage} {x}"),
                2 when attempt <= 2 => throw new TimeoutException($"transient twice {stage} {x}"),
                3 => throw new IOException($"keeps failing {stage} {x}"),
                4 => throw new ArgumentException($"permanent {stage} {x}"),
                _ => x,
            };
        }

        public IEnumerable<int> ExpectedDead(int total, ICollection<int> filtered)
        {
            foreach (var x in Enumerable.Range(0, total))
            {
                if (Kind("parse", x) >= 3)
                {
                    yield return x;
                }
                else if (!filtered.Contains(x) && (Kind("lookup", x) >= 3 || Kind("store", x) >= 3))
                {
                    yield return x;
                }
            }
        }

        private int Kind(string stage, int x)
        {
            var h = HashCode.Combine(_seed, stage.Length, x) & 0x7fffffff;
            var roll = h % 100;
            return roll switch
            {
                < 5 => 1,
                < 8 => 2,
                < 10 => 3,
                < 11 => 4,
                _ => 0,
            };
        }
    }
}
