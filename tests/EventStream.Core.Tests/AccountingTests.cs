using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace EventStream.Tests;

/// <summary>The invariant: every event admitted ends exactly once delivered, filtered, dead-lettered, late or windowed.</summary>
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
        // Parse, filter, enrich, fan out into children, window the children per key, sink the window results; every
        // stage that can fail does so by a plan drawn from the seed. Four producers use every door (WriteBatchAsync,
        // WriteAsync, TryWrite); then the "keeps failing" faults are healed and the dead letters replayed.
        const int producers = 4;
        const int perProducer = 2_500;
        const int total = producers * perProducer;
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero));
        var store = new InMemoryDeadLetterStore();
        var fate = new Fates(seed, total, Child.WindowSlots);
        var filtered = new ConcurrentDictionary<int, byte>();
        var fannedOut = new ConcurrentDictionary<int, int>();
        var late = new ConcurrentQueue<int>();
        var results = new ConcurrentDictionary<(string Key, long Start), int[]>();
        var delivered = new ConcurrentDictionary<(string Key, long Start), int>();
        await using var pipeline = PipelineBuilder.Create<int>($"random-{seed}", o =>
            {
                o.TimeProvider = time;
                o.DeadLetterStore = store;
                o.Capacity = 64;
                o.BatchSize = 16;
                o.Timeout = Timeout.InfiniteTimeSpan; // a handler slowed by the machine must not fail by the driven clock
                o.Retry = new RetryOptions { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(10), UseJitter = true };
            })
            .Transform("parse", x => fate.MaybeFail("parse", x, x))
            .Filter("sample", x => { var keep = x % 7 != 0; if (!keep) { filtered[x] = 0; } return keep; })
            .Enrich("lookup", async (int x, CancellationToken _) => { if (x % 5 == 0) { await Task.Yield(); } return fate.MaybeFail("lookup", x, x); }, new StageOptions { Parallelism = 1 + (seed % 3) })
            .FanOut("explode", x => { fannedOut.AddOrUpdate(x, 1, (_, n) => n + 1); return Child.Of(x, perProducer); })
            .Window("per-key", new WindowOptions<Child, string>
            {
                Assigner = WindowAssigner.Tumbling(TimeSpan.FromMilliseconds(Child.WindowMs)),
                Key = c => c.Key,
                Timestamp = c => c.Ts,
                OutOfOrderness = TimeSpan.FromSeconds(2),
                LateOutput = (c, _) => { late.Enqueue(c.Id); return default; },
            }, Aggregates.Create<Child, List<int>, int[]>(() => [], (ids, c) => { ids.Add(c.Id); return ids; }, (a, b) => { a.AddRange(b); return a; }, ids => [.. ids]))
            .Sink("store", r =>
            {
                results.TryAdd((r.Key, r.Start), r.Value);
                fate.MaybeFail("store", Child.WindowSlot(r.Key, r.Start), r);
                delivered.AddOrUpdate((r.Key, r.Start), 1, (_, n) => n + 1);
            })
            .Build();

        var tryWriteRefusals = 0;
        var writers = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < perProducer; i += 50)
            {
                var chunk = Enumerable.Range((p * perProducer) + i, 50).ToArray();
                if (p == producers - 1)
                {
                    foreach (var x in chunk)
                    {
                        while (!pipeline.TryWrite(x))
                        {
                            Interlocked.Increment(ref tryWriteRefusals);
                            await Task.Yield();
                        }
                    }
                }
                else if (i % 100 == 0)
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
        var step = TimeSpan.FromMilliseconds(20);
        await time.DriveUntil(Task.WhenAll(writers), step);
        await time.DriveUntil(Settled(pipeline), step);

        // Before the replay: exactly the events and window results whose faults outlast their retries are dead.
        var before = await store.ListAsync(limit: int.MaxValue);
        // (Sorted and compared in order: BeEquivalentTo is quadratic, and these lists run to thousands.)
        before.Where(e => e.Stage != "store").Select(e => (int)e.Event!).Order().Should().Equal(fate.ExpectedDeadBeforeReplay(filtered.Keys));
        var deadResultsBefore = before.Where(e => e.Stage == "store").Select(e => (WindowResult<string, int[]>)e.Event!).ToList();
        deadResultsBefore.Should().NotBeEmpty("the sink dead-letters too")
            .And.OnlyContain(r => fate.Kind("store", Child.WindowSlot(r.Key, r.Start)) >= Fates.KeepsFailing);
        results.Keys.Where(k => fate.Kind("store", Child.WindowSlot(k.Key, k.Start)) >= Fates.KeepsFailing).Order()
            .Should().Equal(deadResultsBefore.Select(r => (r.Key, r.Start)).Order(), "every result the sink could not take is dead-lettered");

        fate.Heal();
        var replay = pipeline.ReplayDeadLettersAsync();
        await time.DriveUntil(replay, step);
        var replayed = await replay;
        replayed.Should().Be(new ReplayResult(
            before.Count(e => fate.KindOf(e) == Fates.KeepsFailing),
            before.Count(e => fate.KindOf(e) == Fates.Permanent),
            0));
        await time.DriveUntil(pipeline.CompleteAsync(), step);

        var m = pipeline.GetMetrics();
        m.Accepted.Should().Be(total);
        m.Rejected.Should().Be(tryWriteRefusals, "each refused TryWrite is counted once");
        m.Replayed.Should().Be(replayed.Replayed + replayed.FailedAgain);
        m.ShouldBeBalanced();

        // Each input event: dead-lettered, filtered (by the filter, or fanned out into nothing) or fanned out, once.
        var after = await store.ListAsync(limit: int.MaxValue);
        after.Select(e => e.Id).Should().OnlyHaveUniqueItems();
        var deadInputs = after.Where(e => e.Stage != "store").Select(e => (int)e.Event!).ToList();
        deadInputs.Order().Should().Equal(fate.ExpectedDeadAtTheEnd(filtered.Keys), "after the replay only the permanent failures stay dead");
        fannedOut.Values.Should().OnlyContain(n => n == 1, "a stage before a failing one does not run again");
        var inputs = deadInputs.Concat(filtered.Keys).Concat(fannedOut.Keys).ToList();
        inputs.Should().OnlyHaveUniqueItems("no event has two fates");
        inputs.Should().HaveCount(total, "no event is lost");
        m.Filtered.Should().Be(filtered.Count + fannedOut.Keys.Count(x => Child.Of(x, perProducer).Count == 0));

        // Each child: absorbed into exactly one window, or late.
        var children = fannedOut.Keys.SelectMany(x => Child.Of(x, perProducer)).Select(c => c.Id).ToList();
        var windowed = results.Values.SelectMany(ids => ids).ToList();
        windowed.Concat(late).Should().OnlyHaveUniqueItems();
        windowed.Concat(late).Order().Should().Equal(children.Order());
        late.Should().NotBeEmpty("the old children are late behind their siblings");
        m.Windowed.Should().Be(windowed.Count);
        m.Late.Should().Be(late.Count);
        m.FannedOut.Should().Be(children.Count - fannedOut.Keys.Count(x => Child.Of(x, perProducer).Count > 0), "an event fanned out into k children adds k - 1");

        // Each window result: delivered once, or dead-lettered by the sink.
        m.WindowResults.Should().Be(results.Count);
        delivered.Values.Should().OnlyContain(n => n == 1, "a window result is never delivered twice");
        var deadResults = after.Where(e => e.Stage == "store").Select(e => (WindowResult<string, int[]>)e.Event!).Select(r => (r.Key, r.Start)).ToList();
        deadResults.Should().NotBeEmpty().And.OnlyContain(k => fate.Kind("store", Child.WindowSlot(k.Key, k.Start)) == Fates.Permanent);
        delivered.Keys.Concat(deadResults).Should().OnlyHaveUniqueItems();
        delivered.Keys.Concat(deadResults).Order().Should().Equal(results.Keys.Order());
        m.Delivered.Should().Be(delivered.Count);
        m.DeadLettered.Should().Be(after.Count + replayed.Replayed + replayed.FailedAgain, "a replayed entry was counted when it was first dead-lettered, and again if it failed again");
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
        var enriched = 0;
        var sinkHolds = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pipeline = PipelineBuilder.Create<int>("cancel-forward", o => { o.DeadLetterStore = store; o.BatchSize = batchSize; })
            .Enrich("async", async (int x, CancellationToken ct) => { Interlocked.Increment(ref enriched); await Task.Yield(); return x; })
            .Sink("stuck", async (int _, CancellationToken ct) => { sinkHolds.TrySetResult(); await Task.Delay(Timeout.Infinite, ct); }, new StageOptions { Capacity = 4 })
            .Build();
        pipeline.Ingest(Enumerable.Range(0, 64).ToArray()); // one input batch, handed on in batches of batchSize
        await sinkHolds.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // The stall: the sink holds its first batch, a second fills its queue, and the async stage has made the third
        // and waits to write it, the rest of its input untouched. These counts cannot move until the cancellation.
        await TestSupport.Eventually(
            () => Volatile.Read(ref enriched) == 3 * batchSize && pipeline.GetMetrics().Stages.Select(s => s.QueueDepth).SequenceEqual([64 - (3 * batchSize), batchSize]),
            "the async stage waits to hand on its third batch");

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

    /// <summary>Waits until the pipeline holds nothing in flight (windows may still hold children).</summary>
    private static Task Settled<T>(IEventPipeline<T> pipeline) =>
        TestSupport.Eventually(() => pipeline.GetMetrics().InFlight == 0, "nothing in flight");

    /// <summary>An event fanned out: child j of event x, keyed by x, at an event time that follows the producer's progress.</summary>
    private sealed record Child(int Id, string Key, long Ts)
    {
        public const long WindowMs = 100;
        private const int Keys = 4;
        private const long Earliest = -10_000; // the oldest child of the first events
        private const long Latest = 30_000;

        /// <summary>Gets how many (key, window) pairs the children can fall into.</summary>
        public static int WindowSlots => Keys * (int)((Latest - Earliest) / WindowMs);

        /// <summary>
        /// x % 3 children: none, one at the producer's position, or that one and an old one 5 s behind it, which is late
        /// once its sibling has moved the watermark (2 s out-of-orderness) past it.
        /// </summary>
        public static IReadOnlyList<Child> Of(int x, int perProducer)
        {
            var ts = (x % perProducer) * 10L;
            var key = $"k{x % Keys}";
            return (x % 3) switch
            {
                0 => [],
                1 => [new Child(x * 3, key, ts)],
                _ => [new Child(x * 3, key, ts), new Child((x * 3) + 1, key, ts - 5_000)],
            };
        }

        public static int WindowSlot(string key, long start) =>
            (int.Parse(key.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture) * (int)((Latest - Earliest) / WindowMs)) + (int)((start - Earliest) / WindowMs);
    }

    /// <summary>
    /// Deterministic failure plan, drawn from a seeded <see cref="Random"/> before the run: per stage and event (or
    /// window result), a transient failure that heals on a retry, a failure that keeps failing until
    /// <see cref="Heal"/>, or a permanent one.
    /// </summary>
    private sealed class Fates
    {
        public const int KeepsFailing = 3;
        public const int Permanent = 4;

        private readonly Dictionary<string, int[]> _kinds;
        private readonly ConcurrentDictionary<(string, int), int> _attempts = new();
        private volatile bool _healed;

        public Fates(int seed, int events, int windowSlots)
        {
            var random = new Random(seed);
            _kinds = new Dictionary<string, int[]>
            {
                ["parse"] = Draw(random, events, keepsFailing: 2, permanent: 1),
                ["lookup"] = Draw(random, events, keepsFailing: 2, permanent: 1),
                ["store"] = Draw(random, windowSlots, keepsFailing: 5, permanent: 5),
            };
        }

        public int Kind(string stage, int id) => _kinds[stage][id];

        public int KindOf(DeadLetterEntry entry) => entry.Stage == "store"
            ? Kind("store", Child.WindowSlot(((WindowResult<string, int[]>)entry.Event!).Key, ((WindowResult<string, int[]>)entry.Event!).Start))
            : Kind(entry.Stage, (int)entry.Event!);

        /// <summary>From now on the failures that kept failing succeed (the fault is fixed); permanent ones still fail.</summary>
        public void Heal() => _healed = true;

        public TResult MaybeFail<TResult>(string stage, int id, TResult result)
        {
            var attempt = _attempts.AddOrUpdate((stage, id), 1, (_, n) => n + 1);
            return Kind(stage, id) switch
            {
                1 when attempt == 1 => throw new IOException($"transient {stage} {id}"),
                2 when attempt <= 2 => throw new TimeoutException($"transient twice {stage} {id}"),
                KeepsFailing when !_healed => throw new IOException($"keeps failing {stage} {id}"),
                Permanent => throw new ArgumentException($"permanent {stage} {id}"),
                _ => result,
            };
        }

        /// <summary>The input events dead after the first run: the parse failures that outlast retries, and the lookup ones of the events that passed parse and the filter.</summary>
        public IEnumerable<int> ExpectedDeadBeforeReplay(ICollection<int> filtered) =>
            Enumerable.Range(0, _kinds["parse"].Length).Where(x =>
                Kind("parse", x) >= KeepsFailing || (!filtered.Contains(x) && Kind("lookup", x) >= KeepsFailing));

        /// <summary>The input events dead after the replay: only the permanent failures, at parse or (for events that pass parse and the filter) at lookup.</summary>
        public IEnumerable<int> ExpectedDeadAtTheEnd(ICollection<int> filtered) =>
            Enumerable.Range(0, _kinds["parse"].Length).Where(x =>
                Kind("parse", x) == Permanent || (!filtered.Contains(x) && Kind("lookup", x) == Permanent));

        /// <summary>Kinds in percent: 5 transient once, 3 transient twice, then keeps failing and permanent as given.</summary>
        private static int[] Draw(Random random, int count, int keepsFailing, int permanent)
        {
            var kinds = new int[count];
            for (var i = 0; i < count; i++)
            {
                var roll = random.Next(100);
                kinds[i] = roll < 5 ? 1 : roll < 8 ? 2 : roll < 8 + keepsFailing ? KeepsFailing : roll < 8 + keepsFailing + permanent ? Permanent : 0;
            }

            return kinds;
        }
    }
}
