using EventStream.Windowing.State;
using EventStream.Redis.Partitions;
using EventStream.Windowing;
using StackExchange.Redis;

namespace EventStream.Redis.Tests.Partitions;

/// <summary>A partition's lease, fenced commit and restore, against a real redis-server.</summary>
[Collection(RedisTests.Name)]
public sealed class PartitionStoreTests(RedisServerFixture redis)
{
    private const long T0 = 1_800_000_000_000;

    [Fact]
    public async Task A_commit_writes_state_cursor_results_and_late_events_together_and_a_restore_rebuilds_the_same_engine()
    {
        var (store, db) = Store(partitions: 4);
        var (epoch, _) = await store.TryAcquireAsync(2, "w1", T0, T0 + 10_000);
        var engine = Engine();
        var output = new List<WindowResult<string, long>>();
        for (var t = 0; t < 5_000; t += 7)
        {
            engine.Add($"k{t % 5}", t, t, output); // sliding 1 s / 100 ms windows fire and purge as time moves
        }

        var commit = Gather(engine, output, position: "5-0");
        commit.AddLate("{\"late\":1}", "4-0", "its windows had closed");

        (await store.CommitAsync(2, epoch, commit, T0 + 1, T0 + 10_001, (string.Empty, string.Empty, string.Empty))).Outcome.Should().Be(PartitionStore.CommitOutcome.Applied);

        (await db.StreamLengthAsync(store.Keys.Results(2))).Should().Be(output.Count);
        (await db.StreamLengthAsync(store.Keys.Late(2))).Should().Be(1);
        var cursor = await store.ReadCursorAsync(2);
        cursor.Should().BeEquivalentTo(new PartitionCursor(epoch, "w1", T0 + 10_001, "5-0", engine.Clock, 4_998, new PartitionCounts(715, 715, 0, 0, 0, output.Count), T0 + 1, Sequence: 1));
        (await RestoreAsync(store, 2)).Should().Equal(Lines(engine), "the restored engine holds exactly the committed state");

        // A second commit carries only the delta (slices purged, new slices), and the restore still matches.
        output.Clear();
        for (var t = 5_000; t < 9_000; t += 7)
        {
            engine.Add($"k{t % 5}", t, t, output);
        }

        commit = Gather(engine, output, position: "9-0");
        commit.Sequence = 2;
        (await store.CommitAsync(2, epoch, commit, T0 + 2, T0 + 10_002, (string.Empty, string.Empty, string.Empty))).Outcome.Should().Be(PartitionStore.CommitOutcome.Applied);
        (await RestoreAsync(store, 2)).Should().Equal(Lines(engine));
        (await db.HashLengthAsync(store.Keys.State(2))).Should().Be(Lines(engine).Count, "purged entries were removed from Redis");
    }

    [Fact]
    public async Task A_lease_is_taken_only_when_free_and_a_commit_from_a_fenced_epoch_writes_nothing()
    {
        var (store, db) = Store(partitions: 2);

        var (first, _) = await store.TryAcquireAsync(0, "a", T0, T0 + 1_000);
        var refusal = await store.TryAcquireAsync(0, "b", T0 + 500, T0 + 1_500);
        var (refused, holder) = refusal;
        refusal.HeldUntil.Should().Be(T0 + 1_000, "b learns when a's lease runs out");
        var (second, _) = await store.TryAcquireAsync(0, "b", T0 + 1_000, T0 + 2_000); // a's lease ran out (a paused, say)

        first.Should().Be(1);
        refused.Should().Be(0);
        holder.Should().Be("a");
        second.Should().Be(2, "every acquisition raises the epoch");

        var engine = Engine();
        engine.Add("k", 1, 1, []);
        var stale = Gather(engine, [new WindowResult<string, long>("k", 0, 1000, 1, 1, WindowFiring.OnTime, 1)], position: "7-0");
        (await store.CommitAsync(0, first, stale, T0 + 1_100, T0 + 2_100, (string.Empty, string.Empty, string.Empty))).Outcome.Should().Be(PartitionStore.CommitOutcome.Fenced, "epoch 1 is fenced");
        (await store.RenewAsync(0, first, T0 + 3_000)).Should().BeFalse();
        (await store.ReleaseAsync(0, first)).Should().BeFalse();

        (await db.HashLengthAsync(store.Keys.State(0))).Should().Be(0, "a refused commit writes no state");
        (await db.StreamLengthAsync(store.Keys.Results(0))).Should().Be(0, "nor results");
        var cursor = await store.ReadCursorAsync(0);
        cursor.Position.Should().Be(PartitionCursor.Start);
        cursor.Owner.Should().Be("b");
        cursor.LeaseUntil.Should().Be(T0 + 2_000, "nor extends a lease");

        (await store.RenewAsync(0, second, T0 + 5_000)).Should().BeTrue();
        (await store.ReleaseAsync(0, second)).Should().BeTrue();
        (await store.TryAcquireAsync(0, "a", T0 + 1_200, T0 + 2_200)).Epoch.Should().Be(3, "a released lease is free at once");
        (await store.TryAcquireAsync(1, "a", T0, T0 + 1)).Epoch.Should().Be(1, "each partition has a lease of its own");
    }

    [Fact]
    public async Task A_commit_sent_again_after_a_lost_reply_is_not_applied_twice()
    {
        var (store, db) = Store(partitions: 1);
        var (epoch, _) = await store.TryAcquireAsync(0, "w", T0, T0 + 1_000);
        var commit = new PartitionCommit { Position = "3-0", Sequence = 1 };
        commit.AddResult("{\"n\":1}");
        commit.AddResult("{\"n\":2}");

        var first = await store.CommitAsync(0, epoch, commit, T0, T0 + 1_000, (string.Empty, string.Empty, string.Empty));
        var again = await store.CommitAsync(0, epoch, commit, T0, T0 + 1_000, (string.Empty, string.Empty, string.Empty));

        first.Outcome.Should().Be(PartitionStore.CommitOutcome.Applied);
        var results = await db.StreamRangeAsync(store.Keys.Results(0));
        first.LastResult.Should().Be(results[^1].Id.ToString(), "the commit says where its results end");
        again.Outcome.Should().Be(PartitionStore.CommitOutcome.AlreadyApplied);
        results.Should().HaveCount(2, "the second send wrote no results again");
        (await store.ReadCursorAsync(0)).Sequence.Should().Be(1);
    }

    [Fact]
    public async Task A_commit_of_more_entries_than_one_command_takes_is_written_whole()
    {
        var (store, db) = Store(partitions: 1);
        var (epoch, _) = await store.TryAcquireAsync(0, "w", T0, T0 + 1_000);
        var commit = new PartitionCommit { Position = "1-0" };
        for (var i = 0; i < 25_000; i++)
        {
            commit.Upsert(BitConverter.GetBytes(i), [1, 2, 3]);
        }

        (await store.CommitAsync(0, epoch, commit, T0, T0 + 1_000, (string.Empty, string.Empty, string.Empty))).Outcome.Should().Be(PartitionStore.CommitOutcome.Applied);

        (await db.HashLengthAsync(store.Keys.State(0))).Should().Be(25_000);
    }

    [Fact]
    public async Task A_commit_too_large_for_one_command_is_staged_and_applied_atomically_once_and_fenced_like_any_other()
    {
        // StackExchange.Redis refuses a command of over 1,048,576 arguments: a backlog of new keys, or every window of a
        // big partition firing at the end of the input, made the worker die on its commit.
        // The script applying it runs for seconds on a loaded machine: this connection waits for it as long as it takes
        // (a worker whose commit times out sends it again, and the copy is recognised as applied).
        await using var patient = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { redis.Configuration }, AsyncTimeout = 120_000, SyncTimeout = 120_000 });
        var db = patient.GetDatabase();
        var store = new PartitionStore(db, new PartitionKeys("t" + Guid.NewGuid().ToString("N")[..8], "in", "g", 1));
        var (epoch, _) = await store.TryAcquireAsync(0, "w", T0, T0 + 10_000);
        var commit = new PartitionCommit { Position = "9-0", Sequence = 1 };
        for (var i = 0; i < 530_000; i++)
        {
            commit.Upsert(BitConverter.GetBytes(i), [1, 2, 3]);
        }

        for (var i = 0; i < 3_000; i++)
        {
            commit.AddResult($"{{\"n\":{i}}}");
        }

        commit.AddLate("{}", "1-0", "late");
        commit.AddDead(("event", "{\"bad\":1}"), ("attempts", 3));
        commit.ArgumentCount.Should().BeGreaterThan(1_048_576, "more than one command may carry");

        var stale = await store.CommitAsync(0, epoch + 1, commit, T0, T0 + 10_000, (string.Empty, string.Empty, string.Empty));
        var applied = await store.CommitAsync(0, epoch, commit, T0, T0 + 10_000, (string.Empty, string.Empty, string.Empty));
        var again = await store.CommitAsync(0, epoch, commit, T0, T0 + 10_000, (string.Empty, string.Empty, string.Empty));

        stale.Outcome.Should().Be(PartitionStore.CommitOutcome.Fenced);
        applied.Outcome.Should().Be(PartitionStore.CommitOutcome.Applied);
        again.Outcome.Should().Be(PartitionStore.CommitOutcome.AlreadyApplied);
        (await db.HashLengthAsync(store.Keys.State(0))).Should().Be(530_000);
        (await db.StreamLengthAsync(store.Keys.Results(0))).Should().Be(3_000, "applied once, though sent three times");
        applied.LastResult.Should().Be((await db.StreamRangeAsync(store.Keys.Results(0), "-", "+", 1, Order.Descending))[0].Id.ToString());
        var dead = (await db.StreamRangeAsync(store.Keys.Dead(0))).Should().ContainSingle().Subject;
        ((string)dead["attempts"]!).Should().Be("3");
        (await db.StreamLengthAsync(store.Keys.Late(0))).Should().Be(1);
        (await store.ReadCursorAsync(0)).Position.Should().Be("9-0");
        foreach (var key in store.Keys.Staging(0, epoch, 1).Concat(store.Keys.Staging(0, epoch + 1, 1)))
        {
            (await db.KeyExistsAsync(key)).Should().BeFalse("the staging keys go with the commit, applied or refused");
        }
    }

    [Fact]
    public async Task The_results_late_and_dead_letter_streams_are_trimmed_to_their_retention_in_the_commit()
    {
        var (store, db) = Store(partitions: 1);
        var (epoch, _) = await store.TryAcquireAsync(0, "w", T0, T0 + 1_000);
        var commit = new PartitionCommit { Position = "1-0" };
        for (var i = 0; i < 300; i++)
        {
            commit.AddResult("{}");
            commit.AddDead(("event", "{}"), ("error", "boom"));
        }

        await store.CommitAsync(0, epoch, commit, T0, T0 + 1_000, (string.Empty, string.Empty, string.Empty));
        commit.Clear();
        commit.Sequence = 2;
        var future = $"{DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds()}-0";
        await store.CommitAsync(0, epoch, commit, T0, T0 + 1_000, (future, future, future));

        (await db.StreamLengthAsync(store.Keys.Results(0))).Should().BeLessThan(300, "MINID ~ trims whole macro nodes below the retention");
        (await db.StreamLengthAsync(store.Keys.Dead(0))).Should().BeLessThan(300);
    }

    [Fact]
    public async Task A_worker_with_another_definition_is_refused_with_each_difference_named()
    {
        var (store, _) = Store(partitions: 16);
        var definition = new Dictionary<string, string> { ["partitions"] = "16", ["window"] = "tumbling(60000 ms)", ["aggregate"] = "sum" };
        await store.EnsureDefinitionAsync(definition);
        await store.EnsureDefinitionAsync(new Dictionary<string, string>(definition)); // the same: accepted

        var other = new Dictionary<string, string>(definition) { ["partitions"] = "8", ["window"] = "tumbling(30000 ms)" };
        var join = () => store.EnsureDefinitionAsync(other);

        (await join.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should()
            .Contain("partitions: stored 16, this worker 8").And.Contain("window: stored tumbling(60000 ms), this worker tumbling(30000 ms)")
            .And.NotContain("aggregate:");
    }

    [Fact]
    public async Task Live_members_are_those_whose_heartbeat_has_not_run_out()
    {
        var (store, _) = Store(partitions: 1);
        await store.HeartbeatAsync("w2", T0 + 3_000);
        await store.HeartbeatAsync("w1", T0 + 1_000);
        await store.HeartbeatAsync("w3", T0 + 5_000);
        await store.LeaveAsync("w3");

        (await store.LiveMembersAsync(T0 + 500)).Names.Should().Equal("w1", "w2");
        (await store.LiveMembersAsync(T0 + 500)).NextExpiry.Should().Be(T0 + 1_000, "w1's heartbeat runs out first");
        (await store.LiveMembersAsync(T0 + 1_000)).Names.Should().Equal("w2");
        (await store.LiveMembersAsync(T0 + 3_000)).NextExpiry.Should().Be(long.MaxValue, "no member is live");
    }

    [Fact]
    public void A_key_maps_to_the_same_partition_in_every_process()
    {
        // XxHash64 of the key's UTF-8 bytes: fixed values, unlike string.GetHashCode, which is randomised per process.
        PartitionKeys.PartitionOf("/home"u8, 16).Should().Be(PartitionKeys.PartitionOf("/home"u8.ToArray(), 16));
        Enumerable.Range(0, 1_000).Select(i => PartitionKeys.PartitionOf(System.Text.Encoding.UTF8.GetBytes($"/page/{i}"), 16))
            .Distinct().Should().HaveCount(16, "1,000 keys cover all 16 partitions");
        var keys = new PartitionKeys("es", "{clicks}:in", "g{1}", 2);
        keys.Cursor(1).ToString().Should().Be("es:{%7Bclicks%7D:in|g%7B1%7D|p01}:cursor", "braces are escaped inside the partition's hash tag");
    }

    internal static WindowEngine<long, string, long, long> Engine() =>
        new(WindowAssigner.Sliding(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100)), Aggregates.Count<long>(), 0, 0,
            state: new WindowStateCodecs<string, long>(StateCodec.For<string>(), StateCodec.For<long>()));

    private static PartitionCommit Gather(WindowEngine<long, string, long, long> engine, List<WindowResult<string, long>> results, string position)
    {
        var commit = new PartitionCommit { Position = position, Clock = engine.Clock, StreamMaxTimestamp = engine.MaxTimestamp };
        engine.ExportChanges(commit);
        foreach (var r in results)
        {
            commit.AddResult(System.Text.Json.JsonSerializer.Serialize(r));
        }

        var read = (engine.MaxTimestamp / 7) + 1;
        commit.Counts = new PartitionCounts(read, read, 0, 0, 0, results.Count);
        return commit;
    }

    private static async Task<List<string>> RestoreAsync(PartitionStore store, int partition)
    {
        var engine = Engine();
        engine.Restore((await store.ReadCursorAsync(partition)).Clock);
        await foreach (var entry in store.ReadStateAsync(partition))
        {
            engine.RestoreEntry((byte[])entry.Name!, (byte[])entry.Value!);
        }

        return Lines(engine);
    }

    private static List<string> Lines(WindowEngine<long, string, long, long> engine)
    {
        var lines = new Snapshot();
        engine.ExportAll(lines);
        return [.. lines.Entries.Order(StringComparer.Ordinal)];
    }

    private (PartitionStore Store, IDatabase Db) Store(int partitions)
    {
        var db = redis.Connection.GetDatabase();
        var keys = new PartitionKeys("t" + Guid.NewGuid().ToString("N")[..8], "in", "g", partitions);
        return (new PartitionStore(db, keys), db);
    }

    private sealed class Snapshot : IWindowStateWriter
    {
        public List<string> Entries { get; } = [];

        public void Upsert(ReadOnlySpan<byte> field, ReadOnlySpan<byte> value) => Entries.Add(Convert.ToHexString(field) + "=" + Convert.ToHexString(value));

        public void Remove(ReadOnlySpan<byte> field) => throw new InvalidOperationException("a full export removes nothing");
    }
}
