using System.Text.Json;
using StackExchange.Redis;

namespace EventStream.Cli.Tests;

/// <summary>
/// The worker test beyond one Redis: a 3-node Redis Cluster started by the tests, the input split by key over four
/// streams with their own hash tags (so their state lives on different nodes), one worker process per stream.
/// </summary>
[Collection(RedisClusterTests.Name)]
public sealed class ClusterWorkerTests(RedisClusterFixture cluster) : WorkerRun
{
    [Fact]
    public async Task Workers_on_a_three_node_cluster_with_the_input_split_over_four_streams_emit_what_window_emits()
    {
        const int partitions = 4;
        var input = WriteInput("input.ndjson", events: 8000, badLines: 4, seed: 21);
        var expected = await ReferenceAsync(input, "sliding:10s:5s", "avg:data.ms");
        var run = Guid.NewGuid().ToString("N")[..6];
        var streams = Enumerable.Range(0, partitions).Select(p => $"{{{run}-p{p}}}:clicks").ToList();

        // Split by key: a window's events all go to one stream, so each stream's windows are complete on their own.
        var parts = Enumerable.Range(0, partitions).Select(_ => new List<string>()).ToList();
        foreach (var line in File.ReadLines(input))
        {
            parts[Partition(line, partitions)].Add(line);
        }

        for (var p = 0; p < partitions; p++)
        {
            var file = input + "." + p;
            await File.WriteAllLinesAsync(file, parts[p]);
            await ProduceAsync(cluster.Configuration, streams[p], file);
        }

        var nodes = cluster.Connection.GetServers().Where(s => !s.IsReplica).ToList();
        var owners = streams.Select(s => nodes[0].ClusterConfiguration!.GetBySlot(s)!.EndPoint).Distinct().Count();
        owners.Should().BeGreaterThanOrEqualTo(2, "the streams (and the window state under their hash tags) spread over the nodes");

        var workers = streams.Select((s, p) => StartWorker(cluster.Configuration, s, "sliding:10s:5s", "avg:data.ms", "c" + p, batch: 200)).ToList();
        try
        {
            foreach (var worker in workers)
            {
                (await worker.WaitAsync(Timeout)).Should().Be(0, worker.Stderr);
            }
        }
        finally
        {
            workers.ForEach(w => w.Dispose());
        }

        var outputs = Enumerable.Range(0, partitions).Select(p => OutputOf("c" + p)).ToList();
        var results = Lines(outputs);
        results.Should().BeEquivalentTo(expected.Results, o => o.Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-9)).WhenTypeIs<double>());
        long windowed = 0, dead = 0;
        foreach (var stream in streams)
        {
            var metrics = await Metrics(cluster.Connection, stream);
            windowed += metrics.Windowed;
            dead += metrics.DeadLetterCount;
            (metrics.Windowed + metrics.Late + metrics.DeadLetterCount).Should().Be(metrics.EntriesAdded);
        }

        windowed.Should().Be(8000);
        dead.Should().Be(4);
    }

    private static int Partition(string line, int partitions)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var url = doc.RootElement.GetProperty("data").GetProperty("url").GetString() ?? "";
            return (int)((uint)url.Aggregate(17, (h, c) => (h * 31) + c) % (uint)partitions);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return 0; // a bad line: the worker of stream 0 dead-letters it
        }
    }
}

/// <summary>The cluster worker test's private 3-node Redis Cluster.</summary>
[CollectionDefinition(Name)]
public sealed class RedisClusterTests : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "redis-cluster";
}
