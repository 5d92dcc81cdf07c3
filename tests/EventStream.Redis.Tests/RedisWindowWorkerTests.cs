using System.Text.Json;
using EventStream.Aggregates;
using EventStream.Redis.Windowing;
using EventStream.Retry;
using EventStream.Windowing;
using StackExchange.Redis;
using Aggregate = EventStream.Aggregates.Aggregate;

namespace EventStream.Redis.Tests;

/// <summary>The window worker against a real redis-server: several workers together equal one in-process window stage.</summary>
[Collection(RedisTests.Name)]
public sealed class RedisWindowWorkerTests(RedisServerFixture redis)
{
    private static readonly string[] Urls = ["/", "/a:b", "", "/cart", "/p?q=1", "/x:{y}"];

    public static TheoryData<string, RedisWindowAggregate, int> Cases => new()
    {
        { "tumbling", RedisWindowAggregate.Count, 2 },
        { "tumbling", RedisWindowAggregate.Sum, 1 },
        { "sliding", RedisWindowAggregate.Count, 2 },
        { "sliding", RedisWindowAggregate.Average, 2 },
        { "sliding", RedisWindowAggregate.Min, 1 },
        { "sliding", RedisWindowAggregate.Max, 1 },
        { "session", RedisWindowAggregate.Count, 2 },
        { "session", RedisWindowAggregate.Sum, 2 },
        { "session", RedisWindowAggregate.Max, 1 },
        { "tumbling", RedisWindowAggregate.DistinctCount, 2 },
        { "session", RedisWindowAggregate.DistinctCount, 2 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Workers_together_emit_what_one_in_process_window_stage_emits(string window, RedisWindowAggregate aggregate, int workers)
    {
        var assigner = window switch
        {
            "tumbling" => WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)),
            "sliding" => WindowAssigner.Sliding(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5)),
            _ => WindowAssigner.Session(TimeSpan.FromSeconds(3)),
        };
        var events = Generate(seed: aggregate.GetHashCode() + window.Length, count: 3000, outOfOrder: TimeSpan.FromSeconds(2));
        var stream = NewStream();
        await Produce(stream, events);

        var results = await RunWorkers(stream, workers, o =>
        {
            o.Assigner = assigner;
            o.Aggregate = aggregate;
            o.OutOfOrderness = TimeSpan.FromSeconds(2);
        });

        var expected = await Reference(events, assigner, aggregate, TimeSpan.FromSeconds(2), TimeSpan.Zero);
        results.Select(r => (r.Key, r.Start, r.End, r.Count)).Should().OnlyHaveUniqueItems("each window fires once across the group");
        results.Should().HaveCount(expected.Count);
        var byWindow = results.ToDictionary(r => (r.Key, r.Start, r.End));
        foreach (var e in expected)
        {
            byWindow.Should().ContainKey((e.Key, e.Start, e.End));
            var actual = byWindow[(e.Key, e.Start, e.End)];
            actual.Count.Should().Be(e.Count, $"count of {e}");
            if (aggregate == RedisWindowAggregate.DistinctCount)
            {
                actual.Value.Should().BeApproximately(e.Value, Math.Max(1, e.Value * 0.02), $"distinct of {e}");
            }
            else
            {
                actual.Value.Should().BeApproximately(e.Value, Math.Abs(e.Value) * 1e-12, $"value of {e}");
            }
        }

        var metrics = await Worker(stream, o => o.Assigner = assigner).GetMetricsAsync();
        metrics.Windowed.Should().Be(events.Count);
        metrics.Late.Should().Be(0);
        metrics.Results.Should().Be(expected.Count);
        metrics.Pending.Should().Be(0);
        metrics.EntriesAdded.Should().Be(events.Count);
        (metrics.Windowed + metrics.Late + metrics.DeadLetterCount).Should().Be(metrics.EntriesAdded - metrics.Replayed);
        (await redis.Connection.GetDatabase().StreamLengthAsync(Worker(stream, o => o.Assigner = assigner).ResultsStream)).Should().Be(expected.Count);

        // Every window fired and its state went with it: no slice, session or open-window key is left behind.
        var ns = RedisKeys.Namespace("es", stream, "g");
        var server = redis.Connection.GetServers()[0];
        foreach (var pattern in new[] { ":s:*", ":h:*", ":x:*", ":xh:*", ":open", ":fired", ":purge", ":sb" })
        {
            server.Keys(pattern: ns + pattern).Should().BeEmpty($"{pattern} is purged once every window has fired");
        }
    }

    [Theory]
    [InlineData("tumbling", RedisWindowAggregate.Count)]
    [InlineData("sliding", RedisWindowAggregate.Sum)]
    [InlineData("session", RedisWindowAggregate.Count)]
    public async Task With_allowed_lateness_one_worker_reading_one_entry_at_a_time_fires_exactly_like_the_in_process_stage(string window, RedisWindowAggregate aggregate)
    {
        var assigner = window switch
        {
            "tumbling" => WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)),
            "sliding" => WindowAssigner.Sliding(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5)),
            _ => WindowAssigner.Session(TimeSpan.FromSeconds(3)),
        };

        // Events up to 8 s out of order, with 1 s out-of-orderness and 4 s lateness: on-time, late firings and late events.
        var events = Generate(seed: 42 + window.Length, count: 600, outOfOrder: TimeSpan.FromSeconds(8));
        var stream = NewStream();
        await Produce(stream, events);
        var results = await RunWorkers(stream, 1, o =>
        {
            o.Assigner = assigner;
            o.Aggregate = aggregate;
            o.OutOfOrderness = TimeSpan.FromSeconds(1);
            o.AllowedLateness = TimeSpan.FromSeconds(4);
            o.BatchSize = 1;
        });

        var (expected, expectedLate) = await ReferenceWithLate(events, assigner, aggregate, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4));
        expected.Should().Contain(r => r.Firing == WindowFiring.Late, "the input makes late firings");
        // Windows that fire at the same watermark may come in any order; each window's firings must match in order.
        static Dictionary<string, List<WindowResult<string, double>>> ByWindow(IEnumerable<WindowResult<string, double>> rs) =>
            rs.GroupBy(r => $"{r.Key}|{r.Start}|{r.End}").ToDictionary(g => g.Key, g => g.ToList());
        ByWindow(results).Should().BeEquivalentTo(ByWindow(expected), o => o.WithStrictOrdering().Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-9)).WhenTypeIs<double>());
        var metrics = await Worker(stream, o => o.Assigner = assigner).GetMetricsAsync();
        metrics.Late.Should().Be(expectedLate);
        (metrics.Windowed + metrics.Late).Should().Be(events.Count);
    }

    [Fact]
    public async Task A_window_does_not_fire_while_another_worker_holds_earlier_events_of_it()
    {
        var stream = NewStream();
        var db = redis.Connection.GetDatabase();
        await Produce(stream, [new Click("/a", 1_000, 1, "u")]);
        var ns = RedisKeys.Namespace("es", stream, "g");
        await db.StreamCreateConsumerGroupAsync(stream, "g", "0");

        // A stalled worker reads the first event and never applies it.
        await db.ScriptEvaluateAsync(RedisWindowScripts.Hold, [stream], [ns, "stalled", 0, "0"]);
        (await db.StreamReadGroupAsync(stream, "g", "stalled", ">", 10)).Should().ContainSingle();
        await Produce(stream, [new Click("/a", 2_000, 1, "u"), new Click("/a", 50_000, 1, "u"), new Click("/b", 60_000, 1, "u")]);

        var fired = new List<WindowResult<string, double>>();
        var polls = new IdlePolls();
        var live = Worker(stream, o =>
        {
            o.Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10));
            o.ClaimIdleTime = TimeSpan.FromSeconds(2);
            o.TimeProvider = polls;
        });
        await RunUntilAppliedAndIdleAsync(live, polls, windowed: 3, fired);
        fired.Should().BeEmpty("the stalled worker still holds an event of [0, 10000), so the shared watermark stays below it");

        // Once the stalled entry is claimed and applied, the window holds both events and fires once.
        var finisher = Worker(stream, o =>
        {
            o.Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10));
            o.ClaimIdleTime = TimeSpan.FromSeconds(1);
            o.CompleteWhenIdle = TimeSpan.FromMilliseconds(300);
        });
        var summary = await finisher.RunAsync((r, _) => { fired.AddRange(r); return default; });
        summary.Claimed.Should().Be(1);
        fired.Should().ContainSingle(r => r.Key == "/a" && r.Start == 0).Which.Count.Should().Be(2);
        fired.Should().HaveCount(3);
    }

    [Fact]
    public async Task A_stopped_worker_applies_the_batch_it_read_ahead_and_leaves_nothing_pending()
    {
        var (stream, worker) = await BusyWorkerAsync(seed: 3);

        // Stop at the first results, from inside the callback: the next batch has already been read, right behind the
        // apply that fired them.
        using var cts = new CancellationTokenSource();
        var run = worker.RunAsync(
            async (_, ct) =>
            {
                await cts.CancelAsync();
                ct.ThrowIfCancellationRequested();
            },
            cts.Token);
        await FluentActions.Awaiting(() => run).Should().ThrowAsync<OperationCanceledException>();

        var metrics = await worker.GetMetricsAsync();
        metrics.Pending.Should().Be(0, "what the worker read before it stopped was applied and acknowledged");
        metrics.Windowed.Should().BeInRange(200, 2900, "it stopped mid-stream, after applying the batch it had read ahead");
        var group = (await redis.Connection.GetDatabase().StreamGroupInfoAsync(stream)).Single();
        group.EntriesRead.Should().Be(metrics.Windowed, "every entry the group handed out was applied");
    }

    [Fact]
    public async Task A_failing_results_callback_stops_the_worker_with_its_exception_instead_of_being_retried_as_a_Redis_outage()
    {
        var (stream, worker) = await BusyWorkerAsync(seed: 4);
        var calls = 0;

        var run = worker.RunAsync((_, _) =>
        {
            calls++;
            throw new TimeoutException("the dashboard did not answer");
        });

        (await FluentActions.Awaiting(() => run.WaitAsync(TimeSpan.FromSeconds(60))).Should().ThrowExactlyAsync<TimeoutException>()).WithMessage("the dashboard did not answer");
        calls.Should().Be(1, "the worker stopped at the first failure");
        var metrics = await worker.GetMetricsAsync();
        metrics.Results.Should().BePositive("the results that reached the callback are in the results stream");
        metrics.Pending.Should().Be(0, "the batch read ahead was applied before the worker stopped");
    }

    [Fact]
    public async Task Replaying_all_takes_the_dead_letters_present_at_the_start_once_even_when_each_fails_again_at_once()
    {
        var stream = NewStream();
        await Produce(stream, Enumerable.Range(0, 1200).Select(i => new Click("/poison", 1_000 + i, 1, "u")));
        var worker = Worker(stream, o =>
        {
            o.Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10));
            o.Key = c => c.Url == "/poison" ? throw new FormatException("still broken") : c.Url;
            o.MinPollDelay = TimeSpan.FromMilliseconds(1);
            o.MaxPollDelay = TimeSpan.FromMilliseconds(2);
        });
        using var cts = new CancellationTokenSource();
        var run = worker.RunAsync(null, cts.Token);
        await Eventually(async () => await worker.DeadLetters.CountAsync() == 1200);

        // The worker dead-letters each replayed entry again within milliseconds: the replay must not chase them.
        (await worker.DeadLetters.ReplayAllAsync().WaitAsync(TimeSpan.FromSeconds(30))).Should().Be(1200, "each dead letter there at the start, once");
        await Eventually(async () => await worker.DeadLetters.CountAsync() == 1200);
        (await worker.GetMetricsAsync()).Replayed.Should().Be(1200);

        await cts.CancelAsync();
        await FluentActions.Awaiting(() => run).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task A_live_hold_behind_more_than_fifty_stale_ones_still_keeps_its_window_open()
    {
        var stream = NewStream();
        var db = redis.Connection.GetDatabase();
        await Produce(stream, [new Click("/a", 1_000, 1, "u")]);
        var ns = RedisKeys.Namespace("es", stream, "g");
        await db.StreamCreateConsumerGroupAsync(stream, "g", "0");

        // 51 holds of workers long gone (nothing pending, set long ago) below the hold of a stalled worker.
        for (var i = 0; i < 51; i++)
        {
            await db.SortedSetAddAsync(ns + ":inflight", "r:gone" + i, -2e18 + i);
            await db.HashSetAsync(ns + ":holdat", "r:gone" + i, 0);
        }

        await db.ScriptEvaluateAsync(RedisWindowScripts.Hold, [stream], [ns, "stalled", 0, "0"]);
        (await db.StreamReadGroupAsync(stream, "g", "stalled", ">", 10)).Should().ContainSingle();
        await Produce(stream, [new Click("/a", 2_000, 1, "u"), new Click("/a", 50_000, 1, "u")]);

        var fired = new List<WindowResult<string, double>>();
        var polls = new IdlePolls();
        var live = Worker(stream, o =>
        {
            o.Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10));
            o.ClaimIdleTime = TimeSpan.FromSeconds(5);
            o.MinPollDelay = TimeSpan.FromMilliseconds(1);
            o.MaxPollDelay = TimeSpan.FromMilliseconds(20);
            o.TimeProvider = polls;
        });
        await RunUntilAppliedAndIdleAsync(live, polls, windowed: 2, fired);

        fired.Should().BeEmpty("the stale holds are cleared 50 at a time, and the stalled worker's hold still caps the watermark");
        var holds = (await db.SortedSetRangeByRankAsync(ns + ":inflight")).Select(m => m.ToString()).ToList();
        holds.Should().Contain("r:stalled").And.NotContain(m => m.StartsWith("r:gone", StringComparison.Ordinal), "the stale holds are cleared");
    }

    [Fact]
    public async Task Completing_the_input_is_refused_while_the_group_has_not_been_handed_the_newest_entry()
    {
        var stream = NewStream();
        var db = redis.Connection.GetDatabase();
        await db.StreamCreateConsumerGroupAsync(stream, "g", "0", createStream: true);
        var ns = RedisKeys.Namespace("es", stream, "g");
        RedisValue[] finish = [ns, "g", "t", 10_000, 10_000, 10_000, 0, 0, "count", 1000, "c1", 30_000, 0, "e", "finish"];

        // Nothing pending, but an entry was added after the worker last looked: finishing now would make it late.
        await Produce(stream, [new Click("/a", 1_000, 1, "u")]);
        var refused = (RedisResult[])(await db.ScriptEvaluateAsync(RedisWindowScripts.Apply, [stream], finish))!;
        ((long)refused[3]).Should().Be(-1);
        (await db.HashGetAsync(ns + ":meta", "complete")).IsNull.Should().BeTrue();

        var read = await db.StreamReadGroupAsync(stream, "g", "c1", ">", 10);
        await db.StreamAcknowledgeAsync(stream, "g", read.Select(e => e.Id).ToArray());
        var done = (RedisResult[])(await db.ScriptEvaluateAsync(RedisWindowScripts.Apply, [stream], finish))!;
        ((long)done[3]).Should().BeGreaterThanOrEqualTo(0);
        (await db.HashGetAsync(ns + ":meta", "complete")).ToString().Should().Be("1");
    }

    [Fact]
    public async Task Late_events_go_to_the_late_stream_and_are_counted()
    {
        var stream = NewStream();
        await Produce(stream, [new Click("/a", 100_000, 1, "u")]);
        var worker = Worker(stream, o =>
        {
            o.Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10));
            o.CompleteWhenIdle = TimeSpan.FromMilliseconds(300);
        });
        using (var cts = new CancellationTokenSource())
        {
            var run = worker.RunAsync((_, _) => default, cts.Token);
            await Eventually(async () => (await worker.GetMetricsAsync()).Windowed == 1);
            await Produce(stream, [new Click("/a", 5_000, 1, "late")]); // its window [0, 10000) ended long before the watermark 99999
            await run;
        }

        var metrics = await worker.GetMetricsAsync();
        metrics.Late.Should().Be(1);
        metrics.Windowed.Should().Be(1);
        var late = await redis.Connection.GetDatabase().StreamRangeAsync(worker.LateStream);
        late.Should().ContainSingle();
        JsonSerializer.Deserialize<Click>(late[0]["event"].ToString())!.User.Should().Be("late");
    }

    [Fact]
    public async Task Unreadable_entries_are_dead_lettered_at_once_and_a_failing_one_after_MaxDeliveries_then_replayed_once_fixed()
    {
        var stream = NewStream();
        var db = redis.Connection.GetDatabase();
        await Produce(stream, [new Click("/a", 1_000, 1, "u"), new Click("/poison", 2_000, 1, "u")]);
        await db.StreamAddAsync(stream, "event", "{not json");
        await db.StreamAddAsync(stream, "other", "no event field");

        var broken = true;
        var worker = Worker(stream, o =>
        {
            o.Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10));
            o.ClaimIdleTime = TimeSpan.FromMilliseconds(100);
            o.MaxDeliveries = 3;
            o.Key = c => Volatile.Read(ref broken) && c.Url == "/poison" ? throw new TimeoutException("the URL lookup timed out") : c.Url;
        });
        var results = new List<WindowResult<string, double>>();
        using var cts = new CancellationTokenSource();
        var run = worker.RunAsync((r, _) => { lock (results) { results.AddRange(r); } return default; }, cts.Token);
        await Eventually(async () => await worker.DeadLetters.CountAsync() == 3);

        var letters = await worker.DeadLetters.ListAsync();
        letters.Should().HaveCount(3);
        letters.Should().Contain(l => l.Error.Contains("JsonException", StringComparison.Ordinal) && l.Event == "{not json");
        letters.Should().Contain(l => l.Error.Contains("no 'event' field", StringComparison.Ordinal));
        var poison = letters.Should().ContainSingle(l => l.Error.Contains("delivered 3 times", StringComparison.Ordinal)).Subject;
        poison.Attempts.Should().Be(3);
        JsonSerializer.Deserialize<Click>(poison.Event)!.Url.Should().Be("/poison");
        (await worker.GetMetricsAsync()).Windowed.Should().Be(1);

        // Fixed: replay it. The running worker takes it; its window has not fired (the watermark is below its end).
        Volatile.Write(ref broken, false);
        (await worker.DeadLetters.ReplayAsync(poison.Id)).Should().BeTrue();
        (await worker.DeadLetters.ReplayAsync(poison.Id)).Should().BeFalse("a replayed entry is gone; replaying twice does not duplicate");
        (await worker.DeadLetters.CountAsync()).Should().Be(2);
        await Eventually(async () => (await worker.GetMetricsAsync()).Windowed == 2);
        await cts.CancelAsync();
        await FluentActions.Awaiting(() => run).Should().ThrowAsync<OperationCanceledException>();

        await Worker(stream, o =>
        {
            o.Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10));
            o.CompleteWhenIdle = TimeSpan.FromMilliseconds(300);
        }).RunAsync((r, _) => { lock (results) { results.AddRange(r); } return default; });
        results.Select(r => (r.Key, r.Count)).Should().BeEquivalentTo([("/a", 1L), ("/poison", 1L)]);

        var metrics = await worker.GetMetricsAsync();
        metrics.Replayed.Should().Be(1);
        metrics.DeadLettered.Should().Be(3);
        metrics.EntriesAdded.Should().Be(5);
        (metrics.Windowed + metrics.Late + metrics.DeadLetterCount).Should().Be(metrics.EntriesAdded - metrics.Replayed, "every entry produced is windowed, late or dead-lettered");
    }

    [Fact]
    public async Task Applying_the_same_entries_twice_counts_them_once()
    {
        var stream = NewStream();
        var db = redis.Connection.GetDatabase();
        await Produce(stream, [new Click("/a", 1_000, 1, "u"), new Click("/a", 2_000, 1, "u")]);
        var worker = Worker(stream, o => o.Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)));
        var ns = RedisKeys.Namespace("es", stream, "g");
        await db.StreamCreateConsumerGroupAsync(stream, "g", "0");
        await db.ScriptEvaluateAsync(RedisWindowScripts.Hold, [stream], [ns, "c1", 0, "0"]);
        var read = await db.StreamReadGroupAsync(stream, "g", "c1", ">", 10);
        read.Should().HaveCount(2);
        RedisValue[] Args(StreamEntry[] entries)
        {
            var args = new List<RedisValue> { ns, "g", "t", 10_000, 10_000, 10_000, 0, 0, "count", 1000, "c1", 30_000, entries.Length, "e" };
            foreach (var e in entries)
            {
                var id = e.Id.ToString();
                args.AddRange([id, "/a", 1_000, ""]);
            }

            args.Add("");
            return [.. args];
        }

        var once = (RedisResult[])(await db.ScriptEvaluateAsync(RedisWindowScripts.Apply, [stream], Args(read)))!;
        var twice = (RedisResult[])(await db.ScriptEvaluateAsync(RedisWindowScripts.Apply, [stream], Args(read)))!;
        ((long)once[0]).Should().Be(2);
        ((long)twice[0]).Should().Be(0);
        ((long)twice[2]).Should().Be(2, "both were already acknowledged: duplicates");
        (await db.HashGetAsync(ns + ":s:/a:0", "c")).Should().Be(2);
        (await worker.GetMetricsAsync()).Windowed.Should().Be(2);

        // The batch summed per slice (the fast path) is refused whole when an entry of it was applied before.
        var grouped = new List<RedisValue> { ns, "g", "t", 10_000, 10_000, 10_000, 0, 0, "count", 1000, "c1", 30_000, read.Length, "g" };
        grouped.AddRange(read.Select(e => (RedisValue)e.Id));
        grouped.AddRange([1, "/a", 0, 2, "0", "0", 1, 2, 1_000, ""]);
        var refused = (RedisResult[])(await db.ScriptEvaluateAsync(RedisWindowScripts.Apply, [stream], [.. grouped]))!;
        ((long)refused[3]).Should().Be(-2);
        (await db.HashGetAsync(ns + ":s:/a:0", "c")).Should().Be(2, "nothing was applied twice");
    }

    [Fact]
    public async Task The_stream_is_trimmed_only_below_what_every_group_has_acknowledged()
    {
        var stream = NewStream();
        var db = redis.Connection.GetDatabase();
        await Produce(stream, Generate(seed: 3, count: 2000, outOfOrder: TimeSpan.Zero));
        await db.StreamCreateConsumerGroupAsync(stream, "audit", "0"); // a second computation that has read nothing yet

        await Worker(stream, o =>
        {
            o.Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10));
            o.CompleteWhenIdle = TimeSpan.FromMilliseconds(300);
        }).RunAsync();
        (await db.StreamLengthAsync(stream)).Should().Be(2000, "group 'audit' still needs every entry");

        // 'audit' reads 1500 entries and acknowledges 1000 of them: entry 1001 is its lowest pending one.
        var read = await db.StreamReadGroupAsync(stream, "audit", "a1", ">", 1500);
        await db.StreamAcknowledgeAsync(stream, "audit", read.Take(1000).Select(e => e.Id).ToArray());
        var removed = await RedisWindowWorker<Click>.TrimAsync(db, stream);
        removed.Should().BeGreaterThan(0).And.BeLessThanOrEqualTo(1000);
        (await db.StreamRangeAsync(stream, read[1000].Id, "+")).Should().HaveCount(1000, "the lowest pending entry and everything after it stay");
        (await db.StreamLengthAsync(stream)).Should().Be(2000 - removed);

        await db.StreamAcknowledgeAsync(stream, "audit", read.Skip(1000).Select(e => e.Id).ToArray());
        var rest = await db.StreamReadGroupAsync(stream, "audit", "a1", ">", 1000);
        await db.StreamAcknowledgeAsync(stream, "audit", rest.Select(e => e.Id).ToArray());
        await RedisWindowWorker<Click>.TrimAsync(db, stream);
        (await db.StreamLengthAsync(stream)).Should().BeLessThan(200, "once every group has acknowledged everything, only the last partial node (XTRIM ~) may stay");
    }

    [Fact]
    public void Keys_share_the_stream_hash_tag_so_scripts_stay_in_one_cluster_slot()
    {
        RedisKeys.Namespace("es", "clicks", "g").Should().Be("es:{clicks}:g");
        RedisKeys.Namespace("es", "{p3}:clicks", "g").Should().Be("es:{p3}:{p3}:clicks:g");
        RedisKeys.Namespace("es", "{p3}:refunds", "g").Should().NotBe(RedisKeys.Namespace("es", "{p3}:clicks", "g"), "streams that share a tag keep their state apart");
        var slot = new Func<string, int>(k => redis.Connection.HashSlot(k));
        foreach (var stream in new[] { "clicks", "{p3}:clicks", "a{b}c", "x{y}{z}" })
        {
            slot(RedisKeys.Namespace("es", stream, "g") + ":open").Should().Be(slot(stream), stream);
        }
    }

    [Theory]
    [InlineData("a}b")]
    [InlineData("{}x")]
    [InlineData("{open")]
    public void A_stream_key_with_braces_but_no_hash_tag_is_refused_because_its_keys_could_not_share_its_slot(string stream)
    {
        var act = () => new RedisWindowWorker<Click>(redis.Connection, new RedisWindowOptions<Click>
        {
            Stream = stream, Group = "g", Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)), Key = c => c.Url, Timestamp = c => c.Ts,
        });
        act.Should().Throw<ArgumentException>().WithMessage($"*Stream '{stream}' has a brace but no hash tag*");
    }

    [Fact]
    public void A_sliding_window_of_more_than_1000_slices_is_refused_with_the_reason()
    {
        var act = () => new RedisWindowWorker<Click>(redis.Connection, new RedisWindowOptions<Click>
        {
            Stream = "s", Group = "g", Assigner = WindowAssigner.Sliding(TimeSpan.FromHours(24), TimeSpan.FromSeconds(10)), Key = c => c.Url, Timestamp = c => c.Ts,
            Aggregate = RedisWindowAggregate.DistinctCount, DistinctValue = c => c.User,
        });
        act.Should().Throw<ArgumentException>().WithMessage("*holds 8640 slices of 10000 ms*at most 1000*");
    }

    [Fact]
    public void Bad_options_are_refused_with_every_problem_named()
    {
        var act = () => new RedisWindowWorker<Click>(redis.Connection, new RedisWindowOptions<Click> { Aggregate = RedisWindowAggregate.Sum, BatchSize = 0 });
        act.Should().Throw<ArgumentException>()
            .WithMessage("*Stream is required*Group is required*Assigner is required*Key is required*Timestamp is required*Value is required for Sum*BatchSize*");
    }

    internal static List<Click> Generate(int seed, int count, TimeSpan outOfOrder)
    {
        var random = new Random(seed);
        var events = new List<Click>(count);
        long t = 1_700_000_000_000;
        for (var i = 0; i < count; i++)
        {
            t += random.Next(0, 120);
            if (random.Next(20) == 0)
            {
                t += random.Next(2_000, 8_000); // gaps make sessions end
            }

            var jitter = random.Next(0, (int)outOfOrder.TotalMilliseconds + 1);
            events.Add(new Click(Urls[random.Next(Urls.Length)], t - jitter, Math.Round(random.NextDouble() * 500, 1) - 100, "user" + random.Next(200)));
        }

        return events;
    }

    internal static async Task<List<WindowResult<string, double>>> Reference(IReadOnlyList<Click> events, WindowAssigner assigner, RedisWindowAggregate aggregate, TimeSpan ooo, TimeSpan lateness) =>
        (await ReferenceWithLate(events, assigner, aggregate, ooo, lateness)).Results;

    /// <summary>The in-process window stage on the same events, one at a time: its results and how many events it found late.</summary>
    internal static async Task<(List<WindowResult<string, double>> Results, long Late)> ReferenceWithLate(IReadOnlyList<Click> events, WindowAssigner assigner, RedisWindowAggregate aggregate, TimeSpan ooo, TimeSpan lateness)
    {
        var results = new List<WindowResult<string, double>>();
        var options = new WindowOptions<Click, string> { Assigner = assigner, Key = c => c.Url, Timestamp = c => c.Ts, OutOfOrderness = ooo, AllowedLateness = lateness };
        var builder = PipelineBuilder.Create<Click>("reference", o => o.Retry = RetryOptions.None);
        IEventPipeline<Click> pipeline = aggregate switch
        {
            RedisWindowAggregate.Count => builder.Window("w", options, Aggregate.Count<Click>()).Sink("s", (WindowResult<string, long> r) => { results.Add(new(r.Key, r.Start, r.End, r.Value, r.Count, r.Firing, r.FiringNumber)); }).Build(),
            RedisWindowAggregate.Sum => builder.Window("w", options, Aggregate.Sum<Click>(c => c.Ms)).Sink("s", (WindowResult<string, double> r) => { results.Add(r); }).Build(),
            RedisWindowAggregate.Average => builder.Window("w", options, Aggregate.Average<Click>(c => c.Ms)).Sink("s", (WindowResult<string, double> r) => { results.Add(r); }).Build(),
            RedisWindowAggregate.Min => builder.Window("w", options, Aggregate.Min<Click>(c => c.Ms)).Sink("s", (WindowResult<string, double> r) => { results.Add(r); }).Build(),
            RedisWindowAggregate.Max => builder.Window("w", options, Aggregate.Max<Click>(c => c.Ms)).Sink("s", (WindowResult<string, double> r) => { results.Add(r); }).Build(),
            _ => builder.Window("w", options, Aggregate.DistinctCount<Click, string>(c => c.User)).Sink("s", (WindowResult<string, long> r) => { results.Add(new(r.Key, r.Start, r.End, r.Value, r.Count, r.Firing, r.FiringNumber)); }).Build(),
        };
        await using (pipeline)
        {
            foreach (var e in events)
            {
                await pipeline.WriteAsync(e);
            }

            await pipeline.CompleteAsync();
            return (results, pipeline.GetMetrics().Late);
        }
    }

    internal async Task Produce(string stream, IEnumerable<Click> events)
    {
        var db = redis.Connection.GetDatabase();
        var sends = events.Select(e => db.StreamAddAsync(stream, "event", JsonSerializer.Serialize(e))).ToList();
        await Task.WhenAll(sends);
    }

    internal async Task<List<WindowResult<string, double>>> RunWorkers(string stream, int workers, Action<RedisWindowOptions<Click>> configure)
    {
        var results = new List<WindowResult<string, double>>();
        var runs = Enumerable.Range(0, workers).Select(i => Worker(stream, o =>
        {
            configure(o);
            o.Consumer = "w" + i;
            o.MinPollDelay = TimeSpan.FromMilliseconds(1);
            o.BatchSize = Math.Min(o.BatchSize, 100);
            o.CompleteWhenIdle = TimeSpan.FromMilliseconds(400);
        }).RunAsync((r, _) =>
        {
            lock (results)
            {
                results.AddRange(r);
            }

            return default;
        })).ToList();
        var summaries = await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(60));
        if (workers > 1)
        {
            summaries.Should().OnlyContain(s => s.Windowed > 0, "every worker took part");
        }

        return results;
    }

    internal RedisWindowWorker<Click> Worker(string stream, Action<RedisWindowOptions<Click>> configure)
    {
        var options = new RedisWindowOptions<Click>
        {
            Stream = stream,
            Group = "g",
            Key = c => c.Url,
            Timestamp = c => c.Ts,
            Value = c => c.Ms,
            DistinctValue = c => c.User,
        };
        configure(options);
        return new RedisWindowWorker<Click>(redis.Connection, options);
    }

    /// <summary>A worker over a new stream of 3,000 events in 1-second tumbling windows, reading 100 entries at a time: results fire batch after batch.</summary>
    private async Task<(string Stream, RedisWindowWorker<Click> Worker)> BusyWorkerAsync(int seed)
    {
        var stream = NewStream();
        await Produce(stream, Generate(seed, count: 3000, TimeSpan.Zero));
        return (stream, Worker(stream, o =>
        {
            o.Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(1));
            o.BatchSize = 100;
        }));
    }

    /// <summary>
    /// Runs a worker until it has applied <paramref name="windowed"/> events and then polled idle 8 times (each idle poll
    /// fires what is due: the watermark advanced again and again; a 300 ms wait gave about as many), then stops it.
    /// </summary>
    private static async Task RunUntilAppliedAndIdleAsync(RedisWindowWorker<Click> worker, IdlePolls polls, long windowed, List<WindowResult<string, double>> fired)
    {
        using var cts = new CancellationTokenSource();
        var run = worker.RunAsync((r, _) => { fired.AddRange(r); return default; }, cts.Token);
        await Eventually(async () => (await worker.GetMetricsAsync()).Windowed == windowed);
        var applied = polls.Count;
        await TestSupport.Eventually(() => polls.Count >= applied + 8, "8 idle polls after the last apply");
        await cts.CancelAsync();
        await FluentActions.Awaiting(() => run).Should().ThrowAsync<OperationCanceledException>();
    }

    /// <summary>The system clock, counting the timers it makes: a worker makes one per idle poll, right after firing what is due.</summary>
    private sealed class IdlePolls : TimeProvider
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _count);
            return base.CreateTimer(callback, state, dueTime, period);
        }
    }

    internal static string NewStream() => "clicks-" + Guid.NewGuid().ToString("N")[..8];

    private static Task Eventually(Func<Task<bool>> condition) => TestSupport.Eventually(condition, "the condition should hold within 10 s");
}
