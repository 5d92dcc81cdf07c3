using StackExchange.Redis;

namespace EventStream.Cli.Tests;

/// <summary>
/// The worker test beyond one Redis: a 3-node Redis Cluster started by the tests, one input stream, three worker
/// processes sharing its 16 partitions, whose keys (and commits) spread over the nodes by their hash tags.
/// </summary>
[Collection(RedisClusterTests.Name)]
public sealed class ClusterWorkerTests(RedisClusterFixture cluster) : WorkerRun
{
    [Fact]
    public async Task Three_workers_on_a_three_node_cluster_spread_the_partitions_over_every_node_and_commit_what_window_emits()
    {
        var input = WriteInput("input.ndjson", events: 8000, badLines: 4, seed: 21);
        var expected = await ReferenceAsync(input, "sliding:10s:5s", "avg:data.ms");
        var stream = "clicks-" + Guid.NewGuid().ToString("N")[..6];
        await ProduceAsync(cluster.Configuration, stream, input);

        var keys = new EventStream.Redis.Partitions.PartitionKeys("es", stream, "g", 16);
        var configuration = cluster.Connection.GetServers().First(s => !s.IsReplica).ClusterConfiguration!;
        Enumerable.Range(0, 16).Select(p => configuration.GetBySlot(keys.Cursor(p))!.EndPoint).Distinct().Should().HaveCount(3, "16 partitions' hash tags spread over all three primaries");

        var (outputs, _) = await RunWorkersAsync(cluster.Configuration, stream, "sliding:10s:5s", "avg:data.ms", workers: 3);

        Sorted(await ResultsStream(cluster.Connection, stream)).Should().Equal(Sorted(expected.Results), "each firing committed once, with the single-process value");
        Sorted(Lines(outputs).Distinct()).Should().Equal(Sorted(expected.Results), "the sinks got every committed result (at least once: partitions moved while the workers started)");
        var metrics = await Metrics(cluster.Connection, stream);
        (metrics.Windowed, metrics.DeadLettered, metrics.Read).Should().Be((8000, 4, 8004));
        metrics.Partitions.Should().OnlyContain(p => p.Final && p.LastCommit != null, "every partition, on every node, committed");
    }
}

/// <summary>The cluster worker test's private 3-node Redis Cluster.</summary>
[CollectionDefinition(Name)]
public sealed class RedisClusterTests : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "redis-cluster";
}
