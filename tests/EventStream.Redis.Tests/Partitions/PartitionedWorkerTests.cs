using EventStream.Windowing;
using EventStream.Redis.Partitions;
using System.Collections.Concurrent;
using System.Text.Json;
using StackExchange.Redis;

namespace EventStream.Redis.Tests.Partitions;

/// <summary>Partitioned workers in this process, on a real redis-server: the committed results against one engine.</summary>
[Collection(RedisTests.Name)]
public sealed class PartitionedWorkerTests(RedisServerFixture redis)
{
    private const int Partitions = 8;

    [Fact]
    public async Task One_worker_commits_exactly_the_results_one_process_computes_and_its_sink_gets_each()
    {
        var run = new Run(redis);
        var events = Input(count: 3_000, seed: 1);
        await run.ProduceAsync(events);

        var worker = run.StartWorker("w1");
        await run.WaitUntilProcessedAsync(events.Length);
        await worker.StopAsync();

        var committed = await run.CommittedAsync();
        Ordered(committed).Should().Equal(Ordered(Reference(events)), "each firing committed once, with the value one engine gives");
        Ordered(worker.Sunk).Should().Equal(Ordered(committed), "the stages after the window get the committed results");
        (await run.CountsAsync()).Should().Be((events.Length, events.Length, 0, 0), "entries read = windowed + late + dead-lettered");
    }

    [Fact]
    public async Task Dead_letters_replayed_from_another_process_go_back_through_the_input_and_count_once()
    {
        var run = new Run(redis);
        var events = Input(count: 500, seed: 8);
        var last = events.Max(e => e.Ts);
        Click[] bad = [new("/bad", last), new("/bad", last - 1)]; // in the window still open at the end
        await run.ProduceAsync([.. events, .. bad]);
        var broken = 1;
        var sunk = new ConcurrentBag<WindowResult<string, long>>();
        RedisPartitionedWorker<Click> Start(string name, TimeSpan? idle) => PipelineBuilder.Create<Click>("clicks", o => o.Retry = RetryOptions.None)
            .Transform("check", c => c.Url == "/bad" && Volatile.Read(ref broken) == 1 ? throw new InvalidDataException("the lookup for /bad is down") : c)
            .Window("w", Window(), Aggregates.Count<Click>())
            .Sink("out", r => sunk.Add(r))
            .BuildPartitioned(redis.Connection, run.Options(name, idle));

        using (var stop = new CancellationTokenSource())
        {
            var a = Start("a", null).RunAsync(stop.Token);
            await run.WaitUntilProcessedAsync(502);
            await stop.CancelAsync();
            await a;
        }

        (await run.CountsAsync()).Should().Be((502, 500, 0, 2));
        Volatile.Write(ref broken, 0);
        var options = run.Options("admin", null);
        var replay = await RedisPartitionedPipeline.ReplayDeadLettersAsync(redis.Connection, options); // no worker in this "process"

        replay.Should().Be(new ReplayResult(2, 0, 0));
        await Start("b", TimeSpan.FromMilliseconds(300)).RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        (await run.CountsAsync()).Should().Be((504, 502, 0, 2), "the two entries added back were windowed; their dead letters stay counted as they happened");
        Ordered(await run.CommittedAsync()).Should().Equal(Ordered(Reference([.. events, .. bad], complete: true)), "the replayed events count once, in their window");
        var db = redis.Connection.GetDatabase();
        (await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => db.StreamLengthAsync(run.Keys.Dead(p))))).Sum().Should().Be(0, "replayed dead letters leave their streams");
    }

    [Fact]
    public async Task Events_filtered_before_the_window_are_counted_once_by_one_partition_so_the_partitions_add_up_to_the_input()
    {
        var run = new Run(redis);
        var events = Input(count: 2_000, seed: 9);
        var dropped = events.Count(e => e.Url == "/p7");
        RedisPartitionedWorker<Click> Start(string name) => PipelineBuilder.Create<Click>("clicks")
            .Filter("no-p7", c => c.Url != "/p7")
            .Window("w", Window(), Aggregates.Count<Click>())
            .Sink("out", _ => { })
            .BuildPartitioned(redis.Connection, run.Options(name, exitWhenIdle: TimeSpan.FromMilliseconds(300)));
        var a = Start("a");
        var b = Start("b");
        await run.ProduceAsync(events);

        await Task.WhenAll(a.RunAsync(CancellationToken.None), b.RunAsync(CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(60));

        var metrics = await RedisPartitionedPipeline.ReadMetricsAsync(redis.Connection, run.Options("reader", null));
        dropped.Should().BePositive();
        (metrics.Read, metrics.Windowed, metrics.Filtered).Should().Be((2_000, 2_000 - dropped, dropped), "each worker meets every filtered event; only the owner of its partition counts it");
        // Per partition, against the input: an event is windowed by its key's partition, a filtered one counted by the
        // partition its own JSON maps to.
        int Of(byte[] bytes) => PartitionKeys.PartitionOf(bytes, Partitions);
        metrics.Partitions.Select(p => (p.Windowed, p.Filtered)).Should().Equal(Enumerable.Range(0, Partitions).Select(p => (
            (long)events.Count(e => e.Url != "/p7" && Of(System.Text.Encoding.UTF8.GetBytes(e.Url)) == p),
            (long)events.Count(e => e.Url == "/p7" && Of(JsonSerializer.SerializeToUtf8Bytes(e, JsonSerializerOptions.Web)) == p))));
    }

    [Fact]
    public async Task A_worker_reports_its_partitions_on_the_Meter()
    {
        var run = new Run(redis);
        var events = Input(count: 1_000, seed: 7);
        await run.ProduceAsync(events);
        var worker = run.StartWorker("metered");
        await run.WaitUntilProcessedAsync(events.Length);

        var seen = new ConcurrentDictionary<(string Name, object? Partition), long>();
        using (var listener = new System.Diagnostics.Metrics.MeterListener())
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == EventStreamMeter.MeterName && instrument.Name.StartsWith("eventstream.partition", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            void Record<TValue>(System.Diagnostics.Metrics.Instrument instrument, TValue value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
            {
                var worker = tags.ToArray().FirstOrDefault(t => t.Key == "worker").Value as string;
                if (worker == "metered")
                {
                    seen[(instrument.Name, tags.ToArray().FirstOrDefault(t => t.Key == "partition").Value)] = Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            listener.SetMeasurementEventCallback<int>(Record);
            listener.SetMeasurementEventCallback<long>(Record);
            listener.Start();
            listener.RecordObservableInstruments();
        }

        await worker.StopAsync();
        seen[(EventStreamMeter.PartitionsOwned, null)].Should().Be(Partitions);
        seen.Keys.Where(k => k.Name == EventStreamMeter.PartitionWatermark).Should().HaveCount(Partitions, "every partition committed a watermark");
        seen.Where(k => k.Key.Name == EventStreamMeter.PartitionWatermark).Select(k => k.Value).Max().Should().Be(events.Max(e => e.Ts) - 100 - 1, "the watermark of the whole input");
        seen.Keys.Where(k => k.Name == EventStreamMeter.PartitionCommitAge).Should().HaveCount(Partitions);
    }

    [Fact]
    public async Task Two_workers_share_the_partitions_and_together_commit_each_firing_once()
    {
        var run = new Run(redis);
        var events = Input(count: 4_000, seed: 2);
        var a = run.StartWorker("a");
        var b = run.StartWorker("b");
        await TestSupport.Eventually(() => a.Worker.OwnedPartitions.Count + b.Worker.OwnedPartitions.Count == Partitions && a.Worker.OwnedPartitions.Count > 0 && b.Worker.OwnedPartitions.Count > 0, "both workers hold partitions");

        await run.ProduceAsync(events);
        await run.WaitUntilProcessedAsync(events.Length);
        await Task.WhenAll(a.StopAsync(), b.StopAsync());

        Ordered((await run.CommittedAsync())).Should().Equal(Ordered(Reference(events)));
        Ordered(a.Sunk.Concat(b.Sunk)).Should().Equal(Ordered(Reference(events)), "each worker's sink gets the results of its own partitions");
    }

    [Fact]
    public async Task A_graceful_restart_in_the_middle_of_the_windows_fires_nothing_early_and_splits_no_window()
    {
        // Regression (issue 10): a host stop completed the pipeline, firing every open window as if final; after the
        // restart the same windows fired again from empty, each twice with half the events.
        var run = new Run(redis);
        var events = Input(count: 4_000, seed: 3);
        await run.ProduceAsync(events[..2_000]);
        var first = run.StartWorker("first");
        await run.WaitUntilProcessedAsync(2_000);
        await first.StopAsync();
        var afterStop = await run.CommittedAsync();

        Ordered(afterStop).Should().Equal(Ordered(Reference(events[..2_000])), "a stop commits what the watermark fired, and fires nothing else");

        await run.ProduceAsync(events[2_000..]);
        var second = run.StartWorker("second");
        await run.WaitUntilProcessedAsync(events.Length);
        await second.StopAsync();

        Ordered((await run.CommittedAsync())).Should().Equal(Ordered(Reference(events)), "the restarted worker goes on with the windows where they were");
    }

    [Fact]
    public async Task Once_the_input_is_idle_the_workers_fire_the_remaining_windows_once_and_exit()
    {
        var run = new Run(redis);
        var events = Input(count: 3_000, seed: 5);
        await run.ProduceAsync(events);

        var a = run.StartWorker("a", exitWhenIdle: TimeSpan.FromMilliseconds(300));
        var b = run.StartWorker("b", exitWhenIdle: TimeSpan.FromMilliseconds(300));
        var done = await Task.WhenAll(a.Task, b.Task).WaitAsync(TimeSpan.FromSeconds(60));

        done.Sum(s => s.Commits).Should().BePositive();
        Ordered((await run.CommittedAsync())).Should().Equal(Ordered(Reference(events, complete: true)), "every window fired once: by the watermark, or once the input was complete");
        Ordered(a.Sunk.Concat(b.Sunk)).Should().Equal(Ordered(Reference(events, complete: true)));
    }

    [Fact]
    public async Task An_unreadable_entry_is_dead_lettered_once_by_the_owner_of_its_partition_whatever_the_worker_count()
    {
        var run = new Run(redis);
        var a = run.StartWorker("a");
        var b = run.StartWorker("b");
        await TestSupport.Eventually(() => a.Worker.OwnedPartitions.Count + b.Worker.OwnedPartitions.Count == Partitions && a.Worker.OwnedPartitions.Count > 0 && b.Worker.OwnedPartitions.Count > 0, "both workers hold partitions");
        var db = redis.Connection.GetDatabase();
        await db.StreamAddAsync(run.Stream, "event", "{not json");
        await db.StreamAddAsync(run.Stream, "other", "no event field");
        var events = Input(count: 100, seed: 4);
        await run.ProduceAsync(events);

        await run.WaitUntilProcessedAsync(events.Length + 2);
        await Task.WhenAll(a.StopAsync(), b.StopAsync());

        var dead = new List<StreamEntry>();
        for (var p = 0; p < Partitions; p++)
        {
            dead.AddRange(await db.StreamRangeAsync(run.Keys.Dead(p)));
        }

        dead.Select(d => (string)d["message"]!).Should().HaveCount(2).And.Contain(m => m.Contains("not valid JSON")).And.Contain(m => m.Contains("no 'event' field"));
        (await run.CountsAsync()).Should().Be((events.Length + 2, events.Length, 0, 2));
    }

    [Fact]
    public async Task A_user_defined_aggregate_and_a_record_key_go_through_the_whole_path_and_survive_a_takeover()
    {
        var run = new Run(redis);
        var events = Input(count: 3_000, seed: 6);
        await run.ProduceAsync(events[..1_500]);
        var sunk = new ConcurrentBag<WindowResult<PageKey, Spread>>();
        RedisPartitionedWorker<Click> Start(string name, TimeSpan? exitWhenIdle) => PipelineBuilder.Create<Click>("spread")
            .Transform("tag", c => c with { Url = c.Url.ToUpperInvariant() })
            .Window("w", new WindowOptions<Click, PageKey>
            {
                Assigner = WindowAssigner.Sliding(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(500)),
                Key = c => new PageKey(c.Url.Length, c.Url),
                Timestamp = c => c.Ts,
                OutOfOrderness = TimeSpan.FromMilliseconds(100),
            }, SpreadAggregate())
            .Sink("out", r => sunk.Add(r))
            .BuildPartitioned(redis.Connection, run.Options(name, exitWhenIdle));

        using (var first = new CancellationTokenSource())
        {
            var a = Start("a", exitWhenIdle: null).RunAsync(first.Token);
            await run.WaitUntilProcessedAsync(1_500);
            await first.CancelAsync();
            await a;
        }

        await run.ProduceAsync(events[1_500..]);
        await Start("b", exitWhenIdle: TimeSpan.FromMilliseconds(300)).RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        var engine = new WindowEngine<Click, PageKey, Spread, Spread>(WindowAssigner.Sliding(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(500)), SpreadAggregate(), 100, 0);
        var expected = new List<WindowResult<PageKey, Spread>>();
        foreach (var e in events.Select(c => c with { Url = c.Url.ToUpperInvariant() }))
        {
            engine.Add(new PageKey(e.Url.Length, e.Url), e.Ts, e, expected);
        }

        engine.Complete(expected);
        static List<WindowResult<PageKey, Spread>> Sorted(IEnumerable<WindowResult<PageKey, Spread>> r) =>
            [.. r.OrderBy(x => x.Key.Url, StringComparer.Ordinal).ThenBy(x => x.Start).ThenBy(x => x.FiringNumber)];
        Sorted(sunk).Should().Equal(Sorted(expected), "a record key and a JSON-serialised accumulator restore as they were (records compare by value)");
        expected.Should().HaveCountGreaterThan(500);
    }

    public sealed record Click(string Url, long Ts);

    /// <summary>Results in one order, so lists compare in one pass (FluentAssertions' pairwise equivalency is slow on hundreds).</summary>
    [Fact]
    public async Task Partitions_taken_over_at_different_positions_each_get_every_entry_after_their_own_even_when_a_page_ends_on_one()
    {
        // Regression: the reader let a partition in at the next position ahead of it; when a page of reads ended exactly
        // on a partition's committed position, that partition was let in at the following one instead, having missed the
        // entries in between (seen after a Redis restart, when partitions moved twice).
        var run = new Run(redis);
        var db = redis.Connection.GetDatabase();
        var (a, b) = (KeyNotIn(-1, out var pa), KeyNotIn(pa, out var pb));
        var events = Enumerable.Range(1, 60).Select(i => new Click(i % 2 == 1 ? a : b, 2_000_000 + (i * 10))).ToArray();
        for (var i = 0; i < events.Length; i++)
        {
            await db.StreamAddAsync(run.Stream, "event", JsonSerializer.Serialize(events[i], JsonSerializerOptions.Web), messageId: $"1-{i + 1}");
        }

        // Committed by an earlier owner, then released: a's partition at entry 10, b's at 30 (20 entries on: two full
        // pages of 10), every other partition at 55.
        var store = new PartitionStore(db, run.Keys);
        for (var p = 0; p < Partitions; p++)
        {
            var position = p == pa ? 10 : p == pb ? 30 : 55;
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var (epoch, _) = await store.TryAcquireAsync(p, "earlier", now, now + 60_000);
            var commit = new PartitionCommit { Position = $"1-{position}", StreamMaxTimestamp = events[position - 1].Ts };
            (await store.CommitAsync(p, epoch, commit, now, now + 60_000, (string.Empty, string.Empty, string.Empty))).Outcome.Should().Be(PartitionStore.CommitOutcome.Applied);
            (await store.ReleaseAsync(p, epoch)).Should().BeTrue();
        }

        var worker = run.StartWorker("w", readCount: 10);
        await TestSupport.Eventually(async () => (await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => store.ReadCursorAsync(p)))).All(c => c.Position == "1-60"), "every partition committed to the last entry", 30_000);
        await worker.StopAsync();

        var metrics = await RedisPartitionedPipeline.ReadMetricsAsync(redis.Connection, run.Options("probe", null));
        metrics.Partitions.Single(m => m.Partition == pa).Windowed.Should().Be(25, "a's partition gets its events after entry 10");
        metrics.Partitions.Single(m => m.Partition == pb).Windowed.Should().Be(15, "b's partition gets its events after entry 30, although a page of reads ended there");
        metrics.Windowed.Should().Be(40);
    }

    [Fact]
    public async Task A_dead_workers_partitions_are_taken_when_its_heartbeat_runs_out_not_a_third_of_a_lease_later()
    {
        // On a fake clock (leases and heartbeats are the workers' clocks, passed to Redis): a dead worker holds its share
        // until T0 + 1 s; the live one, with a 60 s lease, used to rebalance every 20 s, and now does at that moment.
        var run = new Run(redis);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000));
        var t0 = time.GetUtcNow().ToUnixTimeMilliseconds();
        var store = new PartitionStore(redis.Connection.GetDatabase(), run.Keys);
        string[] members = ["a-dead", "b-live"];
        var deadShare = Enumerable.Range(0, Partitions).Where(p => PartitionAssignment.OwnerOf(p, members) == "a-dead").ToList();
        deadShare.Should().NotBeEmpty().And.HaveCountLessThan(Partitions);
        await store.HeartbeatAsync("a-dead", t0 + 1_000);
        foreach (var p in deadShare)
        {
            (await store.TryAcquireAsync(p, "a-dead", t0, t0 + 1_000)).Epoch.Should().BePositive();
        }

        var live = run.StartWorker("b-live", configure: o =>
        {
            o.TimeProvider = time;
            o.Lease = TimeSpan.FromSeconds(60);
        });

        // The clock moves 50 ms at a time, with a pause for the worker between steps, until it holds every partition.
        var steps = 0;
        while (live.Worker.OwnedPartitions.Count < Partitions && steps++ < 2_000)
        {
            time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(10);
        }

        var took = time.GetUtcNow().ToUnixTimeMilliseconds() - t0;
        await live.StopAsync();
        live.Worker.OwnedPartitions.Should().BeEmpty("it handed everything over when it stopped");
        took.Should().BeInRange(1_000, 10_000, "the dead worker's share is free from 1 s, and taken then rather than at the next periodic rebalance (20 s)");
    }

    /// <summary>A URL whose window key falls in another partition than <paramref name="other"/>.</summary>
    private static string KeyNotIn(int other, out int partition)
    {
        for (var i = 0; ; i++)
        {
            var url = "/k" + i;
            partition = PartitionKeys.PartitionOf(System.Text.Encoding.UTF8.GetBytes(url), Partitions);
            if (partition != other)
            {
                return url;
            }
        }
    }

    private static List<WindowResult<string, long>> Ordered(IEnumerable<WindowResult<string, long>> results) =>
        [.. results.OrderBy(r => r.Key, StringComparer.Ordinal).ThenBy(r => r.Start).ThenBy(r => r.FiringNumber)];

    public sealed record PageKey(int Length, string Url);

    /// <summary>A user-defined accumulator, serialised by System.Text.Json: the earliest and latest time and a count.</summary>
    public sealed record Spread(long First, long Last, int Count);

    private static IAggregator<Click, Spread, Spread> SpreadAggregate() => Aggregates.Create<Click, Spread, Spread>(
        () => new Spread(long.MaxValue, long.MinValue, 0),
        (s, c) => new Spread(Math.Min(s.First, c.Ts), Math.Max(s.Last, c.Ts), s.Count + 1),
        (l, r) => new Spread(Math.Min(l.First, r.First), Math.Max(l.Last, r.Last), l.Count + r.Count),
        s => s);

    private static Click[] Input(int count, int seed)
    {
        var random = new Random(seed);
        var t = 1_000_000L;
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            t += random.Next(0, 5);
            return new Click($"/p{random.Next(40)}", t - random.Next(0, 80)); // out of order within the allowed 100 ms
        })];
    }

    private static WindowOptions<Click, string> Window() => new()
    {
        Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)),
        Key = c => c.Url,
        Timestamp = c => c.Ts,
        OutOfOrderness = TimeSpan.FromMilliseconds(100),
    };

    /// <summary>What one engine in one process fires on the same input (no completion: a stop fires nothing).</summary>
    private static List<WindowResult<string, long>> Reference(Click[] events, bool complete = false)
    {
        var engine = new WindowEngine<Click, string, long, long>(Window().Assigner!, Aggregates.Count<Click>(), 100, 0);
        var results = new List<WindowResult<string, long>>();
        foreach (var e in events)
        {
            engine.Add(e.Url, e.Ts, e, results);
        }

        if (complete)
        {
            engine.Complete(results);
        }

        return results;
    }

    private sealed class Run(RedisServerFixture redis)
    {
        private static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) } };

        public string Stream { get; } = "clicks-" + Guid.NewGuid().ToString("N")[..8];

        public string Prefix { get; } = "t" + Guid.NewGuid().ToString("N")[..6];

        public PartitionKeys Keys => new(Prefix, Stream, "g", Partitions);

        public async Task ProduceAsync(Click[] events)
        {
            var db = redis.Connection.GetDatabase();
            await Task.WhenAll(events.Select(e => db.StreamAddAsync(Stream, "event", JsonSerializer.Serialize(e, JsonSerializerOptions.Web))));
        }

        public PartitionedOptions Options(string name, TimeSpan? exitWhenIdle, int readCount = 1000) => new()
        {
            Stream = Stream,
            Group = "g",
            Consumer = name,
            KeyPrefix = Prefix,
            Partitions = Partitions,
            CommitInterval = TimeSpan.FromMilliseconds(100),
            Lease = TimeSpan.FromSeconds(2),
            ExitWhenIdle = exitWhenIdle,
            ReadCount = readCount,
        };

        public Running StartWorker(string name, TimeSpan? exitWhenIdle = null, int readCount = 1000, Action<PartitionedOptions>? configure = null)
        {
            var sunk = new ConcurrentBag<WindowResult<string, long>>();
            var options = Options(name, exitWhenIdle, readCount);
            configure?.Invoke(options);
            var worker = PipelineBuilder.Create<Click>("clicks")
                .Window("w", Window(), Aggregates.Count<Click>())
                .Sink("out", r => sunk.Add(r))
                .BuildPartitioned(redis.Connection, options);
            var stop = new CancellationTokenSource();
            return new Running(worker, worker.RunAsync(stop.Token), stop, sunk);
        }

        /// <summary>Until the committed counts of all partitions account for <paramref name="entries"/> input entries.</summary>
        public Task WaitUntilProcessedAsync(long entries) =>
            TestSupport.Eventually(async () => (await CountsAsync()).Read == entries, $"{entries} entries committed", 30_000);

        public async Task<(long Read, long Windowed, long Late, long Dead)> CountsAsync()
        {
            var metrics = await RedisPartitionedPipeline.ReadMetricsAsync(redis.Connection, new PartitionedOptions { Stream = Stream, Group = "g", KeyPrefix = Prefix, Partitions = Partitions });
            return (metrics.Read, metrics.Windowed, metrics.Late, metrics.DeadLettered);
        }

        public async Task<List<WindowResult<string, long>>> CommittedAsync()
        {
            var db = redis.Connection.GetDatabase();
            var results = new List<WindowResult<string, long>>();
            for (var p = 0; p < Partitions; p++)
            {
                results.AddRange((await db.StreamRangeAsync(Keys.Results(p))).Select(e => JsonSerializer.Deserialize<WindowResult<string, long>>((string)e["result"]!, Json)!));
            }

            return results;
        }
    }

    private sealed record Running(RedisPartitionedWorker<Click> Worker, Task<PartitionedRunSummary> Task, CancellationTokenSource Stop, ConcurrentBag<WindowResult<string, long>> Sunk)
    {
        public async Task StopAsync()
        {
            await Stop.CancelAsync();
            await Task;
        }
    }
}
