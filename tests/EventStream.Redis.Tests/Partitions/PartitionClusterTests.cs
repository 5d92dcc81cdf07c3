using EventStream.Redis.Partitions;

namespace EventStream.Redis.Tests.Partitions;

/// <summary>On a real 3-node Redis Cluster, each partition's keys share one slot and the partitions spread over the nodes.</summary>
[Collection(RedisClusterTests.Name)]
public sealed class PartitionClusterTests(RedisClusterFixture cluster)
{
    [Fact]
    public async Task Sixteen_partitions_spread_over_all_three_nodes_and_each_commits_in_one_slot()
    {
        var db = cluster.Connection.GetDatabase();
        var keys = new PartitionKeys("t" + Guid.NewGuid().ToString("N")[..8], "clicks", "g", 16);
        var store = new PartitionStore(db, keys);
        var configuration = cluster.Connection.GetServers().First(s => s.IsConnected && !s.IsReplica).ClusterConfiguration!;
        var nodes = new HashSet<System.Net.EndPoint>();

        for (var p = 0; p < keys.Partitions; p++)
        {
            var slot = cluster.Connection.HashSlot(keys.Cursor(p));
            new[] { keys.State(p), keys.Results(p), keys.Late(p), keys.Dead(p) }.Select(k => cluster.Connection.HashSlot(k))
                .Should().AllBeEquivalentTo(slot, "a partition's commit script touches one slot");
            nodes.Add(configuration.GetBySlot(slot)!.EndPoint!);

            var (epoch, _) = await store.TryAcquireAsync(p, "w", 1, 10_000);
            var engine = PartitionStoreTests.Engine();
            engine.Add("k", 5, 5, []);
            var commit = new PartitionCommit { Position = $"{p + 1}-0", Clock = engine.Clock };
            engine.ExportChanges(commit);
            commit.AddResult("{}");
            commit.AddLate("{}", "1-0", "late");
            commit.AddDead(("event", "{}"));
            (await store.CommitAsync(p, epoch, commit, 2, 10_000, (string.Empty, string.Empty, string.Empty))).Outcome.Should().Be(PartitionStore.CommitOutcome.Applied);
            (await store.ReadCursorAsync(p)).Position.Should().Be($"{p + 1}-0");
        }

        nodes.Should().HaveCount(3, "16 partition tags spread over every primary of the cluster");
    }
}
