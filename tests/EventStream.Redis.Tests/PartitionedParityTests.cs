using EventStream.Redis.Partitions;
using EventStream;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using StackExchange.Redis;

namespace EventStream.Redis.Tests;

/// <summary>
/// The behaviours the Lua window worker's tests checked (RedisWindowWorkerTests, retired with the worker in issue 10),
/// on the partitioned path that replaces it — where no other test of the path already covers them: every window kind
/// and aggregate against one in-process pipeline, allowed lateness, late events, poison entries and their accounting,
/// dead-letter replay, a stop in the middle of the input, a failing sink, the end of the input, the input's trimming
/// and refused options. Real redis-server; workers in this process.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class PartitionedParityTests(RedisServerFixture redis)
{
    private const int Partitions = 8;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private static readonly string[] Urls = ["/", "/a:b", "", "/cart", "/p?q=1", "/x:{y}"];

    public enum Agg
    {
        Count,
        Sum,
        Average,
        Min,
        Max,
        DistinctCount,
    }

    public static TheoryData<string, Agg, int> Cases => new()
    {
        { "tumbling", Agg.Count, 2 },
        { "tumbling", Agg.Sum, 1 },
        { "sliding", Agg.Count, 2 },
        { "sliding", Agg.Average, 2 },
        { "sliding", Agg.Min, 1 },
        { "sliding", Agg.Max, 1 },
        { "session", Agg.Count, 2 },
        { "session", Agg.Sum, 2 },
        { "session", Agg.Max, 1 },
        { "tumbling", Agg.DistinctCount, 2 },
        { "session", Agg.DistinctCount, 2 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Workers_together_commit_what_one_in_process_pipeline_emits_and_leave_no_window_state_behind(string window, Agg aggregate, int workers)
    {
        var computation = new Computation(redis);
        var shape = new Shape(Assigner(window), aggregate, TimeSpan.FromSeconds(2), TimeSpan.Zero);
        var events = Generate(seed: ((int)aggregate * 10) + window.Length, count: 3000, outOfOrder: TimeSpan.FromSeconds(2));

        // The workers share the partitions before the input arrives, so each takes part; a stop fires nothing, and a
        // finisher takes every partition over and fires what is left once the input is complete.
        var running = Enumerable.Range(0, workers).Select(i => computation.Start(shape, "w" + i)).ToList();
        await computation.WaitUntilSharedAsync(running);
        await computation.ProduceAsync(events);
        await computation.WaitUntilReadAsync(events.Count);
        var summaries = await Task.WhenAll(running.Select(r => r.StopAsync()));
        await computation.Start(shape, "finisher", exitWhenIdle: TimeSpan.FromMilliseconds(300)).Task.WaitAsync(Timeout);

        var (expected, late) = await ReferenceAsync(events, shape);
        late.Should().Be(0, "the disorder stays within the out-of-orderness");
        var committed = await computation.CommittedAsync();
        ShouldEqual(committed, expected, aggregate);
        summaries.Should().OnlyContain(s => s.Windowed > 0, "every worker windowed the events of its partitions");
        summaries.Sum(s => s.Windowed).Should().Be(events.Count, "what the workers read is committed by their stops");
        var metrics = await computation.MetricsAsync();
        (metrics.Read, metrics.Windowed, metrics.Late, metrics.DeadLettered, metrics.Filtered).Should().Be((events.Count, events.Count, 0, 0, 0));
        metrics.Results.Should().Be(expected.Count);
        metrics.Partitions.Should().OnlyContain(p => p.Final);

        // Every window fired and its state went with it: no slice, session or firing record is left in any partition.
        var db = redis.Connection.GetDatabase();
        var left = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => db.HashLengthAsync(computation.Keys.State(p))));
        left.Should().OnlyContain(n => n == 0, "the state of every fired window is purged in the commit that fires it");
    }

    [Theory]
    [InlineData("tumbling", Agg.Count)]
    [InlineData("sliding", Agg.Sum)]
    [InlineData("session", Agg.Count)]
    public async Task With_allowed_lateness_a_worker_reading_one_entry_at_a_time_commits_every_firing_of_the_in_process_pipeline(string window, Agg aggregate)
    {
        // Up to 8 s out of order, with 1 s out-of-orderness and 4 s lateness: on-time and late firings, and late events.
        var computation = new Computation(redis);
        var shape = new Shape(Assigner(window), aggregate, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4));
        var events = Generate(seed: 42 + window.Length, count: 600, outOfOrder: TimeSpan.FromSeconds(8));
        await computation.ProduceAsync(events);

        var worker = computation.Start(shape, "one", exitWhenIdle: TimeSpan.FromMilliseconds(300), configure: o => o.ReadCount = 1);
        await worker.Task.WaitAsync(Timeout);

        var (expected, expectedLate) = await ReferenceAsync(events, shape);
        expected.Should().Contain(r => r.Firing == WindowFiring.Late, "the input makes late firings");

        // Windows that fire at the same watermark may be committed in any order; each window's firings must match in order.
        static Dictionary<string, List<Result>> ByWindow(IEnumerable<Result> results) =>
            results.GroupBy(r => $"{r.Key}|{r.Start}|{r.End}").ToDictionary(g => g.Key, g => g.OrderBy(r => r.FiringNumber).ToList());
        var committed = ByWindow(await computation.CommittedAsync());
        committed.Keys.Should().BeEquivalentTo(ByWindow(expected).Keys);
        foreach (var (key, firings) in ByWindow(expected))
        {
            committed[key].Select(r => (r.Count, r.Firing, r.FiringNumber)).Should().Equal(firings.Select(r => (r.Count, r.Firing, r.FiringNumber)), key);
            committed[key].Select(r => r.Value).Should().Equal(firings.Select(r => r.Value), (a, b) => Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Abs(b)), key);
        }

        var metrics = await computation.MetricsAsync();
        metrics.Late.Should().Be(expectedLate);
        (metrics.Windowed + metrics.Late).Should().Be(events.Count);
        (await computation.LateAsync()).Should().HaveCount((int)expectedLate, "each late event is kept in its partition's late stream");
    }

    [Fact]
    public async Task A_late_event_goes_to_its_partitions_late_stream_with_its_json_and_is_counted()
    {
        var computation = new Computation(redis);
        var shape = new Shape(WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)), Agg.Count, TimeSpan.Zero, TimeSpan.Zero);
        await computation.ProduceAsync([new Click("/a", 100_000, 1, "u")]);
        var worker = computation.Start(shape, "w");
        await computation.WaitUntilReadAsync(1);

        await computation.ProduceAsync([new Click("/a", 5_000, 1, "late")]); // its window [0, 10000) ended long before the watermark 99999
        await computation.WaitUntilReadAsync(2);
        await worker.StopAsync();

        var metrics = await computation.MetricsAsync();
        (metrics.Windowed, metrics.Late).Should().Be((1, 1));
        var late = await computation.LateAsync();
        late.Should().ContainSingle();
        JsonSerializer.Deserialize<Click>((string)late[0]["event"]!, JsonSerializerOptions.Web)!.Should().Be(new Click("/a", 5_000, 1, "late"));
        (await computation.CommittedAsync()).Should().BeEmpty("the window of the on-time event is still open, and a stop fires nothing");
    }

    [Fact]
    public async Task Poison_entries_and_failing_events_are_dead_lettered_with_their_text_counted_once_and_replayed_once_fixed()
    {
        var computation = new Computation(redis);
        var shape = new Shape(WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)), Agg.Count, TimeSpan.FromSeconds(2), TimeSpan.Zero);
        var events = Generate(seed: 21, count: 500, outOfOrder: TimeSpan.Zero);
        var last = events.Max(e => e.Ts);
        Click[] bad = [new("/bad", last, 1, "u"), new("/bad", last - 1, 1, "u")]; // in the window still open at the end
        var broken = 1;
        PipelineBuilder<Click, Click> Head(PipelineBuilder<Click, Click> p) => p
            .Filter("no-cart", c => c.Url != "/cart")
            .Transform("check", c => c.Url == "/bad" && Volatile.Read(ref broken) == 1 ? throw new InvalidDataException("the lookup for /bad is down") : c);
        await computation.ProduceAsync(events);
        var db = redis.Connection.GetDatabase();
        await db.StreamAddAsync(computation.Stream, "event", "{not json");
        await db.StreamAddAsync(computation.Stream, "other", "no event field");
        await db.StreamAddAsync(computation.Stream, "event", "null");
        await db.StreamAddAsync(computation.Stream, "event", """{"url":5,"ts":"soon"}""");
        await computation.ProduceAsync(bad);
        var entries = events.Count + 4 + bad.Length;
        var filtered = events.Count(e => e.Url == "/cart");
        filtered.Should().BePositive();

        var first = computation.Start(shape, "first", head: Head);
        await computation.WaitUntilReadAsync(entries);
        await first.StopAsync();

        var metrics = await computation.MetricsAsync();
        (metrics.Read, metrics.Windowed, metrics.Filtered, metrics.DeadLettered, metrics.Late).Should().Be((entries, events.Count - filtered, filtered, 6, 0), "each entry accounted once: windowed, filtered or dead-lettered");
        var dead = await computation.DeadLettersAsync();
        dead.Should().HaveCount(6);
        dead.Should().ContainSingle(d => Field(d, "event") == "{not json" && Field(d, "reason") == "Unreadable" && Field(d, "message").Contains("not valid JSON"));
        dead.Should().ContainSingle(d => Field(d, "event") == string.Empty && Field(d, "message").Contains("no 'event' field"));
        dead.Should().ContainSingle(d => Field(d, "event") == "null" && Field(d, "message").Contains("JSON null"));
        dead.Should().ContainSingle(d => Field(d, "event") == """{"url":5,"ts":"soon"}""" && Field(d, "message").Contains("not valid JSON"));
        var failed = dead.Where(d => Field(d, "stage") == "check").ToList();
        failed.Should().HaveCount(2).And.OnlyContain(d => Field(d, "exceptionType").Contains(nameof(InvalidDataException)) && Field(d, "message") == "the lookup for /bad is down");
        failed.Select(d => JsonSerializer.Deserialize<Click>(Field(d, "event"), JsonSerializerOptions.Web)).Should().BeEquivalentTo(bad, "a dead letter keeps its event");

        // Fixed; replayed from another client while no worker runs: each dead letter with an event goes back to the input once.
        Volatile.Write(ref broken, 0);
        await using (var admin = await ConnectionMultiplexer.ConnectAsync(redis.Configuration))
        {
            (await RedisPartitionedPipeline.ReplayDeadLettersAsync(admin, computation.Options("admin"))).Should().Be(new ReplayResult(5, 0, 1), "the entry without an event has nothing to replay");
        }

        await computation.Start(shape, "second", exitWhenIdle: TimeSpan.FromMilliseconds(300), head: Head).Task.WaitAsync(Timeout);

        metrics = await computation.MetricsAsync();
        (metrics.Read, metrics.Windowed, metrics.Filtered, metrics.DeadLettered, metrics.Late).Should().Be(
            (entries + 5, events.Count - filtered + 2, filtered, 6 + 3, 0),
            "the fixed events are windowed once; the three unreadable ones are dead-lettered again; earlier dead letters stay counted as they happened");
        (await computation.DeadLettersAsync()).Should().HaveCount(4, "the skipped one stays, the three unreadable ones came back");
        var (expected, _) = await ReferenceAsync([.. events, .. bad], shape, Head);
        ShouldEqual(await computation.CommittedAsync(), expected, Agg.Count);
    }

    [Fact]
    public async Task Replaying_takes_the_dead_letters_present_at_its_start_once_while_the_worker_dead_letters_each_again()
    {
        var computation = new Computation(redis);
        var shape = new Shape(WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)), Agg.Count, TimeSpan.Zero, TimeSpan.Zero);
        PipelineBuilder<Click, Click> Head(PipelineBuilder<Click, Click> p) => p.Transform("check", c => c.Url.StartsWith("/poison", StringComparison.Ordinal) ? throw new InvalidDataException("still broken") : c);
        await computation.ProduceAsync(Enumerable.Range(0, 1200).Select(i => new Click("/poison" + (i % 7), 1_000 + i, 1, "u")).ToList());
        var worker = computation.Start(shape, "w", head: Head);
        await computation.WaitUntilReadAsync(1200);
        (await computation.MetricsAsync()).DeadLettered.Should().Be(1200);

        // The running worker dead-letters each replayed event again one commit interval later: the replay must not chase them.
        await using (var admin = await ConnectionMultiplexer.ConnectAsync(redis.Configuration))
        {
            (await RedisPartitionedPipeline.ReplayDeadLettersAsync(admin, computation.Options("admin")).WaitAsync(Timeout)).Replayed.Should().Be(1200, "each dead letter there at the start, once");
        }

        await computation.WaitUntilReadAsync(2400);
        await worker.StopAsync();
        (await computation.MetricsAsync()).DeadLettered.Should().Be(2400);
        (await computation.DeadLettersAsync()).Should().HaveCount(1200, "each event failed again, once");
        (await computation.CommittedAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task A_worker_stopped_in_the_middle_of_the_input_commits_what_it_read_fires_nothing_more_and_returns_its_summary()
    {
        var computation = new Computation(redis);
        var shape = new Shape(WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)), Agg.Count, TimeSpan.Zero, TimeSpan.Zero);
        var events = Generate(seed: 3, count: 20_000, outOfOrder: TimeSpan.Zero);
        await computation.ProduceAsync(events);

        // Stopped from inside its sink at the first committed result: the reader is somewhere in the input.
        using var stop = new CancellationTokenSource();
        var worker = computation.Start(shape, "stopped", stop: stop, sink: r => _ = stop.CancelAsync(), configure: o => o.ReadCount = 100);
        var summary = await worker.Task.WaitAsync(Timeout);

        var metrics = await computation.MetricsAsync();
        summary.EntriesRead.Should().BePositive();
        metrics.Read.Should().Be(summary.EntriesRead, "every entry the worker read is in its final commit");
        (metrics.Windowed, summary.Windowed).Should().Be((summary.EntriesRead, summary.EntriesRead));
        metrics.Partitions.Should().OnlyContain(p => !p.Final && !p.LeaseLive, "the stop completed nothing and handed every partition over");
        var (upToTheStop, _) = await ReferenceAsync(events[..(int)summary.EntriesRead], shape, complete: false);
        ShouldEqual(await computation.CommittedAsync(), upToTheStop, Agg.Count, "the stop committed what the watermark of what it read fired, and nothing else");

        await computation.Start(shape, "next", exitWhenIdle: TimeSpan.FromMilliseconds(300)).Task.WaitAsync(Timeout);
        var (all, _) = await ReferenceAsync(events, shape);
        ShouldEqual(await computation.CommittedAsync(), all, Agg.Count, "the next worker goes on where the stop left off: each window once");
    }

    // Regression: FeedAsync wrote a read batch into the stages before the window with the stop's token; a stop while
    // they were full left the first chunks admitted but the reader's position before the batch, so the final commit
    // held those events' state with a position before them and the next owner counted them again (2,015 of 2,000).
    [Fact]
    public async Task A_worker_stopped_while_the_stages_before_its_window_are_full_commits_no_event_twice()
    {
        var computation = new Computation(redis);
        var shape = new Shape(WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)), Agg.Count, TimeSpan.Zero, TimeSpan.Zero);
        var events = Generate(seed: 8, count: 2000, outOfOrder: TimeSpan.Zero);
        await computation.ProduceAsync(events);
        using var gate = new ManualResetEventSlim();
        var entered = 0;
        PipelineBuilder<Click, Click> Head(PipelineBuilder<Click, Click> p) => p.Transform("slow", c =>
        {
            Interlocked.Increment(ref entered);
            gate.Wait();
            return c;
        });
        void Small(PipelineOptions o)
        {
            o.Capacity = 10;
            o.BatchSize = 5;
        }

        // The slow stage holds its first event; the reader's batch of 100 fills the 10 places and waits for room.
        var stopped = computation.Start(shape, "stopped", head: Head, pipeline: Small, configure: o => o.ReadCount = 100);
        await TestSupport.Eventually(() => Volatile.Read(ref entered) > 0, "the slow stage holds the first event");
        await stopped.Stop.CancelAsync();
        gate.Set();
        await stopped.Task.WaitAsync(Timeout);
        await computation.Start(shape, "next", exitWhenIdle: TimeSpan.FromMilliseconds(300), head: Head, pipeline: Small).Task.WaitAsync(Timeout);

        var metrics = await computation.MetricsAsync();
        (metrics.Read, metrics.Windowed).Should().Be((events.Count, events.Count), "each entry is counted once, across the stop");
        var (expected, _) = await ReferenceAsync(events, shape);
        ShouldEqual(await computation.CommittedAsync(), expected, Agg.Count);
    }

    [Fact]
    public async Task A_failing_sink_after_the_window_goes_to_the_pipelines_dead_letters_and_is_not_taken_for_a_Redis_outage()
    {
        // A TimeoutException is what a Redis command that timed out throws too; from a sink it is the sink's failure.
        var computation = new Computation(redis);
        var shape = new Shape(WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)), Agg.Count, TimeSpan.Zero, TimeSpan.Zero);
        var events = Generate(seed: 4, count: 3000, outOfOrder: TimeSpan.Zero);
        await computation.ProduceAsync(events);
        var store = new InMemoryDeadLetterStore();

        var worker = computation.Start(
            shape,
            "w",
            exitWhenIdle: TimeSpan.FromMilliseconds(300),
            sink: _ => throw new TimeoutException("the dashboard did not answer"),
            pipeline: o => o.DeadLetterStore = store);
        var summary = await worker.Task.WaitAsync(Timeout);

        summary.Outages.Should().Be(0, "the sink's failure is not a Redis outage");
        var (expected, _) = await ReferenceAsync(events, shape);
        var committed = await computation.CommittedAsync();
        ShouldEqual(committed, expected, Agg.Count, "the commits do not depend on the sink");
        var letters = await store.ListAsync(limit: 100_000);
        letters.Should().HaveCount(committed.Count, "each committed result reached the sink once and was dead-lettered there").And.OnlyContain(l => l.Stage == "out" && l.ExceptionType!.Contains(nameof(TimeoutException)));
    }

    [Fact]
    public async Task An_idle_worker_does_not_complete_the_input_while_a_partition_has_no_live_owner_and_completes_it_once_the_partition_is_taken()
    {
        var computation = new Computation(redis);
        var shape = new Shape(WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)), Agg.Count, TimeSpan.FromSeconds(2), TimeSpan.Zero);
        var events = Generate(seed: 5, count: 1000, outOfOrder: TimeSpan.Zero);
        await computation.ProduceAsync(events);
        var lastId = (await redis.Connection.GetDatabase().StreamRangeAsync(computation.Stream, "-", "+", 1, Order.Descending))[0].Id.ToString();

        // A member that announced itself and never takes its partitions (a worker that died right after its heartbeat).
        var ghost = Enumerable.Range(0, 100).Select(i => "ghost" + i).First(g =>
            Enumerable.Range(0, Partitions).Count(p => PartitionAssignment.OwnerOf(p, ["w", g]) == g) is > 0 and < Partitions);
        var store = new PartitionStore(redis.Connection.GetDatabase(), computation.Keys);
        await store.HeartbeatAsync(ghost, DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds());
        var polls = new CountingTime();
        var worker = computation.Start(shape, "w", exitWhenIdle: TimeSpan.FromMilliseconds(200), configure: o => o.TimeProvider = polls);

        await TestSupport.Eventually(
            async () => (await computation.MetricsAsync()).Partitions.Where(p => p.Owner == "w") is var mine && mine.Any() && mine.All(p => p.Position == lastId),
            "the worker committed its partitions up to the last entry",
            30_000);
        var seen = polls.Count;
        await TestSupport.Eventually(() => polls.Count >= seen + 10, "ten more idle polls, each past the 200 ms idle time after the first few");

        worker.Task.IsCompleted.Should().BeFalse("the ghost's partitions have not processed the input");
        var metrics = await computation.MetricsAsync();
        metrics.Partitions.Where(p => p.Owner is null).Should().NotBeEmpty().And.OnlyContain(p => p.Read == 0 && !p.Final);
        metrics.Partitions.Should().OnlyContain(p => !p.Final, "no partition fires its remaining windows before every partition has read the input");
        var (withoutCompletion, _) = await ReferenceAsync(events, shape, complete: false);
        (await computation.CommittedAsync()).Should().BeSubsetOf(withoutCompletion, "only what the watermark fired is committed");

        await store.LeaveAsync(ghost);
        await worker.Task.WaitAsync(Timeout);
        var (expected, _) = await ReferenceAsync(events, shape);
        ShouldEqual(await computation.CommittedAsync(), expected, Agg.Count, "the partitions the worker took from nobody are processed and completed with the rest, each window once");
    }

    // Regression: the input was trimmed below the computation's own partitions' positions only, so a consumer group or
    // another computation reading the same stream lost the entries it had not read yet (35 of 2,000 left).
    [Fact]
    public async Task The_input_is_not_trimmed_below_what_a_consumer_group_on_the_same_stream_still_needs()
    {
        var computation = new Computation(redis);
        var shape = new Shape(WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)), Agg.Count, TimeSpan.Zero, TimeSpan.Zero);
        var events = Generate(seed: 6, count: 2000, outOfOrder: TimeSpan.Zero);
        await computation.ProduceAsync(events);
        var db = redis.Connection.GetDatabase();
        await db.StreamCreateConsumerGroupAsync(computation.Stream, "audit", "0"); // another reader that has read nothing yet

        var worker = computation.Start(shape, "w", configure: o => o.Lease = TimeSpan.FromMilliseconds(600));
        await computation.WaitUntilReadAsync(events.Count);
        await computation.WaitForRebalancesAsync("w", 2); // the worker's trim runs in each rebalance, after its heartbeat
        await worker.StopAsync();

        (await db.StreamLengthAsync(computation.Stream)).Should().Be(events.Count, "group 'audit' still needs every entry");
        (await db.StreamReadGroupAsync(computation.Stream, "audit", "a1", ">", 5000)).Should().HaveCount(events.Count);
    }

    [Fact]
    public async Task Another_computation_on_the_same_stream_that_has_not_read_it_yet_keeps_the_input_from_being_trimmed()
    {
        var first = new Computation(redis);
        var second = first.Sibling("audit");
        var shape = new Shape(WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)), Agg.Count, TimeSpan.Zero, TimeSpan.Zero);

        // The second computation starts first, before there is any input, and stops: it is one of the stream's readers.
        var early = second.Start(shape, "w2");
        await TestSupport.Eventually(async () => await redis.Connection.GetDatabase().HashExistsAsync(second.Keys.Readers, second.Keys.Reader), "the second computation is among the stream's readers", 10_000);
        await early.StopAsync();

        var events = Generate(seed: 7, count: 2000, outOfOrder: TimeSpan.Zero);
        await first.ProduceAsync(events);
        var worker = first.Start(shape, "w", configure: o => o.Lease = TimeSpan.FromMilliseconds(600));
        await first.WaitUntilReadAsync(events.Count);
        await first.WaitForRebalancesAsync("w", 2); // the worker's trim runs in each rebalance, after its heartbeat
        await worker.StopAsync();
        (await redis.Connection.GetDatabase().StreamLengthAsync(first.Stream)).Should().Be(events.Count, "the second computation has not read any of it");

        await second.Start(shape, "w2", exitWhenIdle: TimeSpan.FromMilliseconds(300)).Task.WaitAsync(Timeout);
        (await second.MetricsAsync()).Read.Should().Be(events.Count, "it reads every entry once it runs");
        var (expected, _) = await ReferenceAsync(events, shape);
        ShouldEqual(await second.CommittedAsync(), expected, Agg.Count);
    }

    [Fact]
    public void Bad_options_and_a_pipeline_without_a_window_are_refused_with_every_problem_named()
    {
        var options = new PartitionedOptions
        {
            Stream = "",
            Group = " ",
            Consumer = "",
            KeyPrefix = "a{b",
            Partitions = 0,
            CommitInterval = TimeSpan.FromMilliseconds(1),
            Lease = TimeSpan.FromMilliseconds(50),
            ReadCount = 0,
            Retention = TimeSpan.FromSeconds(1),
        };
        var shape = new Shape(WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)), Agg.Count, TimeSpan.Zero, TimeSpan.Zero);

        var badOptions = () => Assemble(PipelineBuilder.Create<Click>("clicks"), shape, _ => { }, new Partitioned(redis.Connection, options));
        var noWindow = () => PipelineBuilder.Create<Click>("clicks").Sink("out", _ => { }).BuildPartitioned(redis.Connection, new PartitionedOptions { Stream = "s", Group = "g" });

        badOptions.Should().Throw<ArgumentException>().WithMessage(
            "*Stream is required*Group is required*Consumer is required*KeyPrefix must be non-empty and contain no braces (was 'a{b')*Partitions must be between 1 and 1024 (was 0)*"
            + "CommitInterval must be at least 10 ms*Lease must be at least 100 ms*ReadCount must be at least 1 (was 0)*Retention must be at least a minute*");
        noWindow.Should().Throw<PipelineConfigurationException>().WithMessage("*no window stage*");
    }

    /// <summary>A field of a stream entry, '' when it has none.</summary>
    private static string Field(StreamEntry entry, string name) => (string?)entry[name] ?? string.Empty;

    /// <summary>The window, aggregate and timing of a computation.</summary>
    public sealed record Shape(WindowAssigner Assigner, Agg Aggregate, TimeSpan OutOfOrderness, TimeSpan Lateness)
    {
        public WindowOptions<Click, string> Window() => new()
        {
            Assigner = Assigner,
            Key = c => c.Url,
            Timestamp = c => c.Ts,
            OutOfOrderness = OutOfOrderness,
            AllowedLateness = Lateness,
        };
    }

    /// <summary>A window result with its value as a double, whatever the aggregate's result type.</summary>
    public sealed record Result(string Key, long Start, long End, double Value, long Count, WindowFiring Firing, int FiringNumber)
    {
        public static Result Of(WindowResult<string, long> r) => new(r.Key, r.Start, r.End, r.Value, r.Count, r.Firing, r.FiringNumber);

        public static Result Of(WindowResult<string, double> r) => new(r.Key, r.Start, r.End, r.Value, r.Count, r.Firing, r.FiringNumber);
    }

    private static WindowAssigner Assigner(string window) => window switch
    {
        "tumbling" => WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)),
        "sliding" => WindowAssigner.Sliding(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5)),
        _ => WindowAssigner.Session(TimeSpan.FromSeconds(3)),
    };

    /// <summary>Rising event times with gaps (sessions end) and up to <paramref name="outOfOrder"/> of disorder, over <see cref="Urls"/>.</summary>
    private static List<Click> Generate(int seed, int count, TimeSpan outOfOrder)
    {
        var random = new Random(seed);
        var events = new List<Click>(count);
        long t = 1_700_000_000_000;
        for (var i = 0; i < count; i++)
        {
            t += random.Next(0, 120);
            if (random.Next(20) == 0)
            {
                t += random.Next(2_000, 8_000);
            }

            var jitter = random.Next(0, (int)outOfOrder.TotalMilliseconds + 1);
            events.Add(new Click(Urls[random.Next(Urls.Length)], t - jitter, Math.Round(random.NextDouble() * 500, 1) - 100, "user" + random.Next(200)));
        }

        return events;
    }

    /// <summary>One in-process pipeline on the same events, in the same order: its results and how many events it found late.</summary>
    private static async Task<(List<Result> Results, long Late)> ReferenceAsync(IReadOnlyList<Click> events, Shape shape, Func<PipelineBuilder<Click, Click>, PipelineBuilder<Click, Click>>? head = null, bool complete = true)
    {
        var results = new List<Result>();
        var builder = head?.Invoke(PipelineBuilder.Create<Click>("reference", o => o.Retry = RetryOptions.None)) ?? PipelineBuilder.Create<Click>("reference", o => o.Retry = RetryOptions.None);
        await using var pipeline = Assemble(builder, shape, r => results.Add(r), new InProcess());
        foreach (var e in events)
        {
            await pipeline.WriteAsync(e);
        }

        if (!complete)
        {
            // Until every event has passed the window; what the watermark fired is all there is (no completion).
            await TestSupport.Eventually(() => pipeline.GetMetrics().InFlight == 0, "the reference took every event");
            return ([.. results], pipeline.GetMetrics().Late);
        }

        await pipeline.CompleteAsync();
        return (results, pipeline.GetMetrics().Late);
    }

    /// <summary>The window stage of <paramref name="shape"/> and a sink of <see cref="Result"/>s after <paramref name="head"/>, built by <paramref name="finish"/>.</summary>
    private static TBuilt Assemble<TBuilt>(PipelineBuilder<Click, Click> head, Shape shape, Action<Result> sink, IFinish<TBuilt> finish)
    {
        var window = shape.Window();
        return shape.Aggregate switch
        {
            Agg.Count => finish.Finish(head.Window("w", window, Aggregates.Count<Click>()).Sink("out", r => sink(Result.Of(r)))),
            Agg.Sum => finish.Finish(head.Window("w", window, Aggregates.Sum<Click>(c => c.Ms)).Sink("out", r => sink(Result.Of(r)))),
            Agg.Average => finish.Finish(head.Window("w", window, Aggregates.Average<Click>(c => c.Ms)).Sink("out", r => sink(Result.Of(r)))),
            Agg.Min => finish.Finish(head.Window("w", window, Aggregates.Min<Click>(c => c.Ms)).Sink("out", r => sink(Result.Of(r)))),
            Agg.Max => finish.Finish(head.Window("w", window, Aggregates.Max<Click>(c => c.Ms)).Sink("out", r => sink(Result.Of(r)))),
            _ => finish.Finish(head.Window("w", window, Aggregates.DistinctCount<Click, string>(c => c.User)).Sink("out", r => sink(Result.Of(r)))),
        };
    }

    /// <summary>Each firing once, with the reference's count, firing and value (sums to 1e-9 relative: the same additions in the same order).</summary>
    private static void ShouldEqual(List<Result> committed, List<Result> expected, Agg aggregate, string because = "each firing is committed once, with the value one process gives")
    {
        static List<Result> Sorted(IEnumerable<Result> results) =>
            [.. results.OrderBy(r => r.Key, StringComparer.Ordinal).ThenBy(r => r.Start).ThenBy(r => r.End).ThenBy(r => r.FiringNumber)];
        var actual = Sorted(committed);
        var wanted = Sorted(expected);
        wanted.Should().NotBeEmpty("the input fires windows");
        actual.Select(r => (r.Key, r.Start, r.End, r.Count, r.Firing, r.FiringNumber)).Should().Equal(wanted.Select(r => (r.Key, r.Start, r.End, r.Count, r.Firing, r.FiringNumber)), because);
        var tolerance = aggregate is Agg.Count or Agg.DistinctCount ? 0 : 1e-9;
        actual.Select(r => r.Value).Should().Equal(wanted.Select(r => r.Value), (a, b) => Math.Abs(a - b) <= tolerance * Math.Max(1, Math.Abs(b)), because);
    }

    /// <summary>Finishes a pipeline builder whatever its output type: in process, or as one worker of a partitioned computation.</summary>
    private interface IFinish<out TBuilt>
    {
        TBuilt Finish<TOut>(PipelineBuilder<Click, TOut> builder);
    }

    private sealed class InProcess : IFinish<IEventPipeline<Click>>
    {
        public IEventPipeline<Click> Finish<TOut>(PipelineBuilder<Click, TOut> builder) => builder.Build();
    }

    private sealed class Partitioned(IConnectionMultiplexer redis, PartitionedOptions options) : IFinish<RedisPartitionedWorker<Click>>
    {
        public RedisPartitionedWorker<Click> Finish<TOut>(PipelineBuilder<Click, TOut> builder) => builder.BuildPartitioned(redis, options);
    }

    /// <summary>The system clock, counting the timers it makes: an idle worker makes one per poll.</summary>
    private sealed class CountingTime : TimeProvider
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _count);
            return base.CreateTimer(callback, state, dueTime, period);
        }
    }

    /// <summary>One partitioned computation over a fresh input stream: its workers, its input and what it committed.</summary>
    private sealed class Computation(RedisServerFixture redis, string? stream = null, string group = "g")
    {
        private static readonly JsonSerializerOptions ResultJson = new(JsonSerializerOptions.Web) { Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) } };

        public string Stream { get; } = stream ?? "parity-" + Guid.NewGuid().ToString("N")[..8];

        public string Group => group;

        public string Prefix { get; } = "t" + Guid.NewGuid().ToString("N")[..6];

        public PartitionKeys Keys => new(Prefix, Stream, Group, Partitions);

        /// <summary>Another computation (another group) over the same input stream.</summary>
        public Computation Sibling(string otherGroup) => new(redis, Stream, otherGroup);

        public PartitionedOptions Options(string consumer) => new()
        {
            Stream = Stream,
            Group = Group,
            Consumer = consumer,
            KeyPrefix = Prefix,
            Partitions = Partitions,
            CommitInterval = TimeSpan.FromMilliseconds(100),
            Lease = TimeSpan.FromSeconds(2),
        };

        /// <summary>Adds the events in order, each an entry whose field <c>event</c> holds its web-convention JSON (as any client writes it).</summary>
        public async Task ProduceAsync(IReadOnlyList<Click> events)
        {
            var db = redis.Connection.GetDatabase();
            await Task.WhenAll(events.Select(e => db.StreamAddAsync(Stream, "event", JsonSerializer.Serialize(e, JsonSerializerOptions.Web))));
        }

        public Worker Start(
            Shape shape,
            string name,
            TimeSpan? exitWhenIdle = null,
            Func<PipelineBuilder<Click, Click>, PipelineBuilder<Click, Click>>? head = null,
            Action<PartitionedOptions>? configure = null,
            Action<Result>? sink = null,
            Action<PipelineOptions>? pipeline = null,
            CancellationTokenSource? stop = null)
        {
            var options = Options(name);
            options.ExitWhenIdle = exitWhenIdle;
            configure?.Invoke(options);
            var sunk = new ConcurrentQueue<Result>();
            var builder = PipelineBuilder.Create<Click>("clicks", o =>
            {
                o.Retry = RetryOptions.None;
                pipeline?.Invoke(o);
            });
            var worker = Assemble(head?.Invoke(builder) ?? builder, shape, r => { sunk.Enqueue(r); sink?.Invoke(r); }, new Partitioned(redis.Connection, options));
            stop ??= new CancellationTokenSource();
            return new Worker(worker, worker.RunAsync(stop.Token), stop, sunk);
        }

        /// <summary>Until every worker holds some partitions and together they hold all.</summary>
        public Task WaitUntilSharedAsync(IReadOnlyList<Worker> workers) => TestSupport.Eventually(
            () => workers.Sum(w => w.Handle.OwnedPartitions.Count) == Partitions && workers.All(w => w.Handle.OwnedPartitions.Count > 0),
            "the workers share the partitions",
            30_000);

        /// <summary>Until the committed counts of all partitions account for <paramref name="entries"/> input entries.</summary>
        public Task WaitUntilReadAsync(long entries) =>
            TestSupport.Eventually(async () => (await MetricsAsync()).Read == entries, $"{entries} entries committed", 60_000);

        /// <summary>Until <paramref name="member"/> has renewed its heartbeat <paramref name="count"/> times more: that many rebalances have finished.</summary>
        public async Task WaitForRebalancesAsync(string member, int count)
        {
            var db = redis.Connection.GetDatabase();
            for (var i = 0; i <= count; i++)
            {
                var before = await db.SortedSetScoreAsync(Keys.Members, member);
                await TestSupport.Eventually(async () => await db.SortedSetScoreAsync(Keys.Members, member) != before, $"{member} renews its heartbeat");
            }
        }

        public Task<PartitionedMetrics> MetricsAsync() => RedisPartitionedPipeline.ReadMetricsAsync(redis.Connection, Options("reader"));

        /// <summary>The committed record, read as any process reads it.</summary>
        public async Task<List<Result>> CommittedAsync()
        {
            var results = new List<Result>();
            await foreach (var line in RedisPartitionedPipeline.ReadResultsAsync(redis.Connection, Options("reader")))
            {
                results.Add(Result.Of(JsonSerializer.Deserialize<WindowResult<string, double>>(line, ResultJson)!));
            }

            return results;
        }

        public Task<List<StreamEntry>> LateAsync() => ReadAllAsync(Keys.Late);

        public Task<List<StreamEntry>> DeadLettersAsync() => ReadAllAsync(Keys.Dead);

        private async Task<List<StreamEntry>> ReadAllAsync(Func<int, RedisKey> key)
        {
            var db = redis.Connection.GetDatabase();
            var pages = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => db.StreamRangeAsync(key(p))));
            return [.. pages.SelectMany(p => p)];
        }
    }

    private sealed record Worker(RedisPartitionedWorker<Click> Handle, Task<PartitionedRunSummary> Task, CancellationTokenSource Stop, ConcurrentQueue<Result> Sunk)
    {
        public async Task<PartitionedRunSummary> StopAsync()
        {
            await Stop.CancelAsync();
            return await Task.WaitAsync(Timeout);
        }
    }
}
