using StackExchange.Redis;

namespace EventStream.Cli.Tests;

/// <summary>
/// <c>eventstream produce</c> and several <c>eventstream worker</c> processes against a real redis-server: their
/// results equal what <c>eventstream window</c> emits for the same input, also when a worker is killed (SIGKILL) or
/// Redis is killed and restarted mid-stream.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class WorkerProcessTests(RedisServerFixture redis) : WorkerRun
{

    [Theory]
    [InlineData("tumbling:10s", "count")]
    [InlineData("sliding:10s:5s", "sum:data.ms")]
    [InlineData("session:3s", "max:data.ms")]
    public async Task Three_workers_together_emit_exactly_what_window_emits(string window, string agg)
    {
        var input = WriteInput("input.ndjson", events: 6000, badLines: 7, seed: window.Length);
        var expected = await ReferenceAsync(input, window, agg);
        expected.DeadLetters.Should().Be(7);
        var stream = "clicks-" + Guid.NewGuid().ToString("N")[..8];

        await ProduceAsync(redis.Configuration, stream, input);

        // The three read their first batch together, once all are up: a worker that started late cannot find the
        // stream already drained, so each one takes part.
        await using var gate = CutProxy.HoldingFirst(redis.Connection.GetEndPoints()[0], "XREADGROUP");
        var (outputs, applied) = await RunWorkersAsync(redis.Configuration, stream, window, agg, workers: 3, gate);

        applied.Should().HaveCount(3).And.OnlyContain(n => n > 0, "each of the three workers applied events");
        applied.Sum().Should().Be(6000, "together they applied every good event once");
        Lines(outputs).Should().BeEquivalentTo(expected.Results, "the union of the workers' outputs is the single-process result, each window once");
        var metrics = await Metrics(redis.Connection, stream);
        metrics.DeadLetterCount.Should().Be(7);
        metrics.Windowed.Should().Be(6000);
        (metrics.Windowed + metrics.Late + metrics.DeadLetterCount).Should().Be(metrics.EntriesAdded, "produced = windowed + late + dead-lettered");
    }

    [Fact]
    public async Task A_worker_killed_between_reading_a_batch_and_applying_it_loses_nothing_and_the_others_finish_with_the_single_worker_results()
    {
        var input = WriteInput("input.ndjson", events: 40_000, badLines: 0, seed: 11);
        var expected = await ReferenceAsync(input, "tumbling:5s", "sum:data.ms");
        var stream = "clicks-" + Guid.NewGuid().ToString("N")[..8];
        await ProduceAsync(redis.Configuration, stream, input);
        var db = redis.Connection.GetDatabase();

        // The victim talks to Redis through a proxy that forwards its fourth XREADGROUP and nothing after it: the batch
        // is read (pending under the victim's name) and its apply never arrives. Then the victim is SIGKILLed.
        await using (var proxy = new CutProxy(redis.Connection.GetEndPoints()[0], "XREADGROUP", cutAfter: 4))
        {
            using var victim = StartWorker(proxy.Configuration, stream, "tumbling:5s", "sum:data.ms", "victim", batch: 1000);
            await proxy.Cut.WaitAsync(Timeout);
            await TestSupport.Eventually(async () => await HeldAsync(db, stream, "victim") > 0, "the victim holds the batch it read", timeoutMs: 60_000);
            await victim.KillHardAsync();
            victim.Process.ExitCode.Should().Be(137, "SIGKILL ends the victim without any clean-up");
        }

        (await HeldAsync(db, stream, "victim")).Should().Be(1000, "the victim died holding the batch it read; it stays pending until a live worker claims it");
        (await Metrics(redis.Connection, stream)).Windowed.Should().Be(3000, "the victim applied the three batches it read before");

        var (outputs, _) = await RunWorkersAsync(redis.Configuration, stream, "tumbling:5s", "sum:data.ms", workers: 2);

        var results = await ResultsStream(redis.Connection, stream);
        results.Should().BeEquivalentTo(expected.Results, "every window fired exactly once, with every event counted once");
        Lines(outputs).Should().OnlyHaveUniqueItems().And.BeSubsetOf(results);
        var metrics = await Metrics(redis.Connection, stream);
        metrics.Windowed.Should().Be(40_000);
        metrics.Pending.Should().Be(0);
        (await db.StreamPendingAsync(stream, "g")).PendingMessageCount.Should().Be(0);
    }

    [Fact]
    public async Task Redis_killed_and_restarted_mid_stream_with_AOF_loses_nothing_admitted()
    {
        // appendfsync always: every write Redis acknowledged is in the AOF when it is SIGKILLed.
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { AppendFsync = "always", DirectoryPrefix = "eventstream-restart-" });
        var input = WriteInput("input.ndjson", events: 150_000, badLines: 3, seed: 5);
        var expected = await ReferenceAsync(input, "tumbling:10s", "count");
        const string stream = "clicks";
        await ProduceAsync(server.Configuration, stream, input);

        // Each worker talks to Redis through a proxy of its own, which counts the connections it found Redis down for.
        var proxies = Enumerable.Range(0, 2).Select(_ => CutProxy.PassThrough(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, server.Port))).ToList();
        var workers = proxies.Select((p, i) => StartWorker(p.Configuration, stream, "tumbling:10s", "count", "w" + i, batch: 100)).ToList();
        try
        {
            await using (var probe = await ConnectionMultiplexer.ConnectAsync(server.Configuration))
            {
                await TestSupport.Eventually(async () => (await Metrics(probe, stream)).Windowed > 1_000, "the workers are under way", timeoutMs: 60_000);
                (await Metrics(probe, stream)).Windowed.Should().BeLessThan(150_000, "Redis goes down mid-stream");
            }

            await server.KillAsync();
            var beforeKill = workers.Count(w => w.Process.HasExited);
            beforeKill.Should().Be(0, "Redis goes down mid-stream, while the workers still run");

            // Down until every worker has tried to reconnect and found it gone.
            await TestSupport.Eventually(() => proxies.All(p => p.Refused > 0) || workers.Any(w => w.Process.HasExited), "every worker tries to reconnect", timeoutMs: 60_000);
            workers.Should().OnlyContain(w => !w.Process.HasExited, "the workers wait for Redis to come back");
            await server.RestartAsync();

            foreach (var worker in workers)
            {
                (await worker.WaitAsync(Timeout)).Should().Be(0, worker.Stderr);
            }

            await using var connection = await ConnectionMultiplexer.ConnectAsync(server.Configuration);
            (await ResultsStream(connection, stream)).Should().BeEquivalentTo(expected.Results);
            var metrics = await Metrics(connection, stream);
            (metrics.Windowed + metrics.Late + metrics.DeadLetterCount).Should().Be(150_003, "every line produced is windowed, late or dead-lettered");
            metrics.DeadLetterCount.Should().Be(3);
            workers.Sum(w => Reconnects(w.Stderr)).Should().BePositive("the workers noticed the outage and retried");
        }
        finally
        {
            workers.ForEach(w => w.Dispose());
            foreach (var proxy in proxies)
            {
                await proxy.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Bad_arguments_and_an_unreachable_Redis_get_clear_errors()
    {
        using (var noRedis = CliProcess.Start("worker", "--stream", "s"))
        {
            (await noRedis.WaitAsync(Timeout)).Should().Be(2);
            noRedis.Stderr.Should().Contain("missing required options --redis, --group, --consumer, --window, --key, --agg, --output");
        }

        using (var badBatch = CliProcess.Start("produce", "--redis", redis.Configuration, "--stream", "s", "--input", "x", "--batch", "0"))
        {
            (await badBatch.WaitAsync(Timeout)).Should().Be(2);
            badBatch.Stderr.Should().Contain("bad --batch '0'");
        }

        using var unreachable = CliProcess.Start("produce", "--redis", "127.0.0.1:1,connectTimeout=300", "--stream", "s", "--input", WriteInput("in.ndjson", 1, 0, 1));
        (await unreachable.WaitAsync(Timeout)).Should().Be(1);
        unreachable.Stderr.Should().Contain("cannot reach Redis at '127.0.0.1:1");
    }

    private static async Task<long> HeldAsync(IDatabase db, string stream, string consumer) =>
        (await db.StreamPendingAsync(stream, "g")).Consumers.FirstOrDefault(c => c.Name == consumer).PendingMessageCount;
}

/// <summary>The worker process tests' private redis-server.</summary>
[CollectionDefinition(Name)]
public sealed class RedisTests : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis";
}
