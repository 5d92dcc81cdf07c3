using EventStream.Redis;
using System.Text;
using StackExchange.Redis;

namespace EventStream.Cli.Tests;

/// <summary>
/// <c>eventstream produce</c> and several <c>eventstream worker</c> processes against a real redis-server: the
/// committed results equal what <c>eventstream window</c> emits for the same input, each firing once, also when a worker
/// is killed (SIGKILL) before or after a commit, or Redis is killed and restarted mid-stream.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class WorkerProcessTests(RedisServerFixture redis) : WorkerRun
{

    [Theory]
    [InlineData("tumbling:10s", "count")]
    [InlineData("sliding:10s:5s", "sum:data.ms")]
    [InlineData("session:3s", "max:data.ms")]
    public async Task Three_workers_together_commit_exactly_what_window_emits(string window, string agg)
    {
        var input = WriteInput("input.ndjson", events: 6000, badLines: 7, seed: window.Length);
        var expected = await ReferenceAsync(input, window, agg);
        expected.DeadLetters.Should().Be(7);
        var stream = "clicks-" + Guid.NewGuid().ToString("N")[..8];

        await ProduceAsync(redis.Configuration, stream, input);

        // The three look for their partitions together, once all have announced themselves: each takes its share at
        // once, so a worker that started late cannot find every partition taken and the input already done.
        await using var gate = CutProxy.HoldingFirst(redis.Connection.GetEndPoints()[0], "ZRANGEBYSCORE");
        var (outputs, applied) = await RunWorkersAsync(redis.Configuration, stream, window, agg, workers: 3, gate);

        applied.Should().HaveCount(3).And.OnlyContain(n => n > 0, "each of the three workers windowed the events of its partitions");
        applied.Sum().Should().Be(6000, "together they windowed every good event once");
        Sorted(await ResultsStream(redis.Connection, stream)).Should().Equal(Sorted(expected.Results), "the committed record holds each firing once, with the single-process value");
        Sorted(Lines(outputs).Distinct()).Should().Equal(Sorted(expected.Results), "the workers' sinks together got every committed result (at least once)");
        var metrics = await Metrics(redis.Connection, stream);
        metrics.DeadLettered.Should().Be(7);
        metrics.Windowed.Should().Be(6000);
        metrics.Read.Should().Be(6007, "produced = windowed + late + dead-lettered, summed over the partitions");
        metrics.Partitions.Should().OnlyContain(p => p.Final);
        var perPartition = GoodEventsPerPartition(input, partitions: 16);
        metrics.Partitions.Select(p => p.Windowed + p.Late).Should().Equal(perPartition, "each partition accounts for exactly the input events whose key is its own");
    }

    /// <summary>How many readable input lines have a key (data.url) in each partition, by the library's rule.</summary>
    private static long[] GoodEventsPerPartition(string input, int partitions)
    {
        var counts = new long[partitions];
        foreach (var line in File.ReadLines(input))
        {
            try
            {
                using var json = System.Text.Json.JsonDocument.Parse(line);
                if (json.RootElement.TryGetProperty("timestamp", out var ts) && ts.ValueKind == System.Text.Json.JsonValueKind.Number
                    && json.RootElement.TryGetProperty("data", out var data) && data.TryGetProperty("url", out var url))
                {
                    counts[EventStream.Redis.Partitions.PartitionKeys.PartitionOf(Encoding.UTF8.GetBytes(url.GetString()!), partitions)]++;
                }
            }
            catch (System.Text.Json.JsonException)
            {
                // a bad line: dead-lettered, not windowed
            }
        }

        return counts;
    }

    [Fact]
    public async Task A_worker_killed_before_its_first_commit_loses_nothing_and_the_others_commit_the_single_worker_results()
    {
        var input = WriteInput("input.ndjson", events: 40_000, badLines: 0, seed: 11);
        var expected = await ReferenceAsync(input, "tumbling:5s", "sum:data.ms");
        var stream = "clicks-" + Guid.NewGuid().ToString("N")[..8];
        await ProduceAsync(redis.Configuration, stream, input);

        // The victim talks to Redis through a proxy that forwards its first XREAD and nothing after it: it has read and
        // windowed a batch (100 events), and no commit of it can arrive, however slowly the machine runs. Then it is
        // SIGKILLed. (The cut was at the 40th XREAD: on a loaded machine those 40 reads outlasted the 500 ms commit
        // interval, a commit with data got through first, and the test failed.)
        await using (var proxy = new CutProxy(redis.Connection.GetEndPoints()[0], "XREAD", cutAfter: 1))
        {
            using var victim = StartWorker(proxy.Configuration, stream, "tumbling:5s", "sum:data.ms", "victim", batch: 100);
            await proxy.Cut.WaitAsync(Timeout);
            await victim.KillHardAsync();
            victim.Process.ExitCode.Should().Be(137, "SIGKILL ends the victim without any clean-up");
        }

        (await Metrics(redis.Connection, stream)).Windowed.Should().Be(0, "the victim died before its first commit with data");

        var (outputs, _) = await RunWorkersAsync(redis.Configuration, stream, "tumbling:5s", "sum:data.ms", workers: 2);

        var results = await ResultsStream(redis.Connection, stream);
        Sorted(results).Should().Equal(Sorted(expected.Results), "every window fired exactly once, with every event counted once");
        Sorted(Lines(outputs).Distinct()).Should().Equal(Sorted(results), "the survivors' sinks got every committed result");
        (await Metrics(redis.Connection, stream)).Windowed.Should().Be(40_000);
    }

    [Fact]
    public async Task A_worker_killed_after_a_commit_leaves_its_windows_to_the_next_owner_who_counts_every_event_once()
    {
        // Regression (issue 10): the stream source acknowledged entries at checkpoints while their only effect was window
        // state in memory; a SIGKILL after a checkpoint lost them (a window counted 0 of 1,000).
        var input = WriteInput("input.ndjson", events: 20_000, badLines: 2, seed: 12);
        var expected = await ReferenceAsync(input, "tumbling:10s", "count");
        var lines = File.ReadAllLines(input);
        var first = input + ".first";
        var rest = input + ".rest";
        await File.WriteAllLinesAsync(first, lines[..10_000]);
        await File.WriteAllLinesAsync(rest, lines[10_000..]);
        var stream = "clicks-" + Guid.NewGuid().ToString("N")[..8];
        await ProduceAsync(redis.Configuration, stream, first);

        using (var victim = CliProcess.Start(
            "worker", "--redis", redis.Configuration, "--stream", stream, "--group", "g", "--consumer", "victim",
            "--window", "tumbling:10s", "--key", "data.url", "--agg", "count", "--out-of-orderness", "2s",
            "--output", OutputOf("victim"), "--lease", "2s"))
        {
            await TestSupport.Eventually(async () => (await Metrics(redis.Connection, stream)).Read == 10_000, "the victim committed the first half", timeoutMs: 60_000);
            await victim.KillHardAsync();
        }

        var afterKill = await Metrics(redis.Connection, stream);
        afterKill.Windowed.Should().BeGreaterThan(9_000, "the first half is in the committed window state");
        (await ResultsStream(redis.Connection, stream)).Except(expected.Results).Should().BeEmpty("nothing fired early: every committed result is a final one");

        await ProduceAsync(redis.Configuration, stream, rest);
        await RunWorkersAsync(redis.Configuration, stream, "tumbling:10s", "count", workers: 2);

        Sorted(await ResultsStream(redis.Connection, stream)).Should().Equal(Sorted(expected.Results), "each window once, with its events from both halves");
        var metrics = await Metrics(redis.Connection, stream);
        (metrics.Windowed, metrics.DeadLettered).Should().Be((20_000, 2));
    }

    [Fact]
    public async Task A_worker_paused_past_its_lease_is_fenced_when_it_resumes_and_what_it_did_since_is_not_emitted()
    {
        var input = WriteInput("input.ndjson", events: 20_000, badLines: 0, seed: 13);
        var expected = await ReferenceAsync(input, "tumbling:10s", "count");
        var lines = File.ReadAllLines(input);
        await File.WriteAllLinesAsync(input + ".first", lines[..10_000]);
        await File.WriteAllLinesAsync(input + ".rest", lines[10_000..]);
        var stream = "clicks-" + Guid.NewGuid().ToString("N")[..8];
        await ProduceAsync(redis.Configuration, stream, input + ".first");

        using var paused = CliProcess.Start(
            "worker", "--redis", redis.Configuration, "--stream", stream, "--group", "g", "--consumer", "paused",
            "--window", "tumbling:10s", "--key", "data.url", "--agg", "count", "--out-of-orderness", "2s",
            "--output", OutputOf("paused"), "--lease", "2s");
        await TestSupport.Eventually(async () => (await Metrics(redis.Connection, stream)).Read == 10_000, "the first half is committed", timeoutMs: 60_000);
        var epochs = (await Metrics(redis.Connection, stream)).Partitions.Select(p => p.Epoch).ToList();

        // SIGSTOP: the worker keeps its state and its connection, and its leases run out while it sleeps.
        await paused.SignalAsync("STOP");
        await ProduceAsync(redis.Configuration, stream, input + ".rest");
        await RunWorkersAsync(redis.Configuration, stream, "tumbling:10s", "count", workers: 1);
        (await Metrics(redis.Connection, stream)).Partitions.Select(p => p.Epoch).Should().OnlyContain(e => e > 1, "the other worker took every partition with a newer epoch");
        epochs.Should().OnlyContain(e => e == 1);

        await paused.SignalAsync("CONT");
        await TestSupport.Eventually(() => System.Text.RegularExpressions.Regex.IsMatch(paused.Stderr, "was taken by another worker") || paused.Process.HasExited, "the resumed worker finds its partitions fenced", timeoutMs: 30_000);
        await paused.SignalAsync("TERM");
        (await paused.WaitAsync(Timeout)).Should().Be(0, paused.Stderr);

        paused.Stderr.Should().MatchRegex(@"[1-9]\d* partitions lost", "its leases were taken while it slept");
        var committed = await ResultsStream(redis.Connection, stream);
        Sorted(committed).Should().Equal(Sorted(expected.Results), "each window committed once: the paused worker's later work was refused");
        Lines([OutputOf("paused")]).Except(committed).Should().BeEmpty("its sink got committed results only");
    }

    [Fact]
    public async Task Workers_going_from_one_to_three_to_two_under_load_commit_each_window_once()
    {
        var input = WriteInput("input.ndjson", events: 30_000, badLines: 0, seed: 14);
        var lines = File.ReadAllLines(input);
        var stream = "clicks-" + Guid.NewGuid().ToString("N")[..8];
        CliProcess Worker(string name) => CliProcess.Start(
            "worker", "--redis", redis.Configuration, "--stream", stream, "--group", "g", "--consumer", name,
            "--window", "tumbling:10s", "--key", "data.url", "--agg", "count", "--out-of-orderness", "2s",
            "--output", OutputOf(name), "--lease", "2s");
        async Task Owners(int count, long read) => await TestSupport.Eventually(
            async () => await Metrics(redis.Connection, stream) is var m && m.Read == read && m.Partitions.Where(p => p.LeaseLive).Select(p => p.Owner).Distinct().Count() == count,
            $"{count} workers own the partitions and {read} entries are committed",
            timeoutMs: 60_000);

        await File.WriteAllLinesAsync(input + ".1", lines[..10_000]);
        await ProduceAsync(redis.Configuration, stream, input + ".1");
        using var w0 = Worker("w0");
        await Owners(1, 10_000);

        using var w1 = Worker("w1");
        using var w2 = Worker("w2");
        await PipeAsync(stream, lines[10_000..20_000]); // another client, the way redis-cli writes: XADD stream * event JSON
        await Owners(3, 20_000);

        await w1.SignalAsync("TERM");
        (await w1.WaitAsync(Timeout)).Should().Be(0, w1.Stderr);
        await File.WriteAllLinesAsync(input + ".3", lines[20_000..]);
        await ProduceAsync(redis.Configuration, stream, input + ".3");
        await Owners(2, 30_000);
        await w0.SignalAsync("TERM");
        await w2.SignalAsync("TERM");
        (await w0.WaitAsync(Timeout)).Should().Be(0, w0.Stderr);
        (await w2.WaitAsync(Timeout)).Should().Be(0, w2.Stderr);

        // The input never completed: the windows the watermark of the whole input has passed fired, the others wait.
        var expected = await ReferenceAsync(input, "tumbling:10s", "count");
        var maxTimestamp = lines.Max(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("timestamp").GetInt64());
        var fired = expected.Results.Where(r => r.End - 1 <= maxTimestamp - 2_000 - 1).ToList();
        Sorted(await ResultsStream(redis.Connection, stream)).Should().Equal(Sorted(fired), "each window fired once while partitions moved 1 → 3 → 2");
        (await Metrics(redis.Connection, stream)).Windowed.Should().Be(30_000);
    }

    /// <summary>Adds entries with <c>redis-cli --pipe</c>: the protocol any client speaks, not the library's producer.</summary>
    private async Task PipeAsync(string stream, IEnumerable<string> events)
    {
        var commands = new StringBuilder();
        foreach (var json in events)
        {
            commands.Append("*5\r\n");
            foreach (var part in new[] { "XADD", stream, "*", "event", json })
            {
                commands.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
            }
        }

        var endpoint = (System.Net.IPEndPoint)redis.Connection.GetEndPoints()[0];
        var pipe = new System.Diagnostics.ProcessStartInfo("redis-cli", ["-h", "127.0.0.1", "-p", endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--pipe"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = System.Diagnostics.Process.Start(pipe)!;
        await process.StandardInput.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(commands.ToString()));
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        process.ExitCode.Should().Be(0, output + await process.StandardError.ReadToEndAsync());
        output.Should().Contain("errors: 0");
    }

    [Theory]
    [InlineData("30s")] // the lease outlasts the outage: the partitions wait for Redis with their owners
    [InlineData("2s")] // leases and heartbeats run out while Redis is away: at its return partitions move, some twice
    public async Task Redis_killed_and_restarted_mid_stream_with_AOF_loses_nothing_admitted(string lease)
    {
        // appendfsync always: every write Redis acknowledged is in the AOF when it is SIGKILLed.
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { AppendFsync = "always", DirectoryPrefix = "eventstream-restart-" });
        var input = WriteInput("input.ndjson", events: 150_000, badLines: 3, seed: 5);
        var expected = await ReferenceAsync(input, "tumbling:10s", "count");
        const string stream = "clicks";
        await ProduceAsync(server.Configuration, stream, input);

        // Each worker talks to Redis through a proxy of its own, which counts the connections it found Redis down for.
        var proxies = Enumerable.Range(0, 2).Select(_ => CutProxy.PassThrough(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, server.Port))).ToList();
        // With the short lease each worker first sees only itself at the restart, takes the other's partitions and
        // hands them back: a partition restored behind the reader was let in without the entries in between and lost
        // its last windows (in a loaded run in four, and in the first run under the helpers' load) until the reader learned to
        // rewind for it.
        var workers = proxies.Select((p, i) => StartWorker(p.Configuration, stream, "tumbling:10s", "count", "w" + i, batch: 100, lease: lease)).ToList();
        try
        {
            await using (var probe = await ConnectionMultiplexer.ConnectAsync(server.Configuration))
            {
                await TestSupport.Eventually(async () => (await RedisPartitionedPipeline.ReadMetricsAsync(probe, Computation(stream))).Windowed > 1_000, "the workers are under way", timeoutMs: 60_000);
                (await RedisPartitionedPipeline.ReadMetricsAsync(probe, Computation(stream))).Windowed.Should().BeLessThan(150_000, "Redis goes down mid-stream");
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
            Sorted(await ResultsStream(connection, stream)).Should().Equal(Sorted(expected.Results));
            var metrics = await Metrics(connection, stream);
            (metrics.Windowed + metrics.Late + metrics.DeadLettered).Should().Be(150_003, "every line produced is windowed, late or dead-lettered, once");
            metrics.DeadLettered.Should().Be(3);
            proxies.Should().OnlyContain(p => p.Refused > 0, "each worker found Redis gone and came back (StackExchange.Redis may hold its commands in its backlog meanwhile, so the workers need not see an error)");
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
    public async Task Arguments_the_library_would_refuse_are_refused_before_connecting_with_one_line()
    {
        // Nothing listens on port 1: an argument checked after connecting would report "cannot reach Redis" (exit 1).
        const string Nowhere = "127.0.0.1:1,connectTimeout=300";
        string[] worker = ["worker", "--redis", Nowhere, "--stream", "s", "--group", "g", "--consumer", "c", "--window", "tumbling:1s", "--key", "k", "--agg", "count", "--output", "-"];
        foreach (var (extra, message) in new[]
        {
            (new[] { "--partitions", "0" }, "bad --partitions '0'"),
            (new[] { "--lease", "100ms" }, "bad --lease '100ms'"),
            (new[] { "--batch", "0" }, "bad --batch '0'"),
        })
        {
            using var refused = CliProcess.Start([.. worker, .. extra]);
            (await refused.WaitAsync(Timeout)).Should().Be(2, refused.Stderr);
            refused.Stderr.Should().Contain(message).And.NotContain("cannot reach").And.NotContain("   at ", "one line, no stack trace");
        }
    }

    [Fact]
    public async Task A_stream_key_with_a_brace_and_a_long_sliding_window_run_instead_of_crashing_the_worker()
    {
        // Regression (issue 10): 'a{b' and sliding:100s:1ms connected first, then died with an unhandled ArgumentException
        // (exit 134); produce published into 'a{b', which no worker could read.
        var stream = "a{b-" + Guid.NewGuid().ToString("N")[..6];
        var input = WriteInput("in.ndjson", events: 3, badLines: 0, seed: 3); // each event opens 100,000 windows of 1 ms slide
        await ProduceAsync(redis.Configuration, stream, input);
        using var worker = CliProcess.Start(
            "worker", "--redis", redis.Configuration, "--stream", stream, "--group", "g", "--consumer", "c",
            "--window", "sliding:100s:1ms", "--key", "data.url", "--agg", "count", "--output", OutputOf("c"), "--exit-when-idle", "500ms", "--lease", "1s");

        (await worker.WaitAsync(Timeout)).Should().Be(0, worker.Stderr);
        worker.Windowed.Should().Be(3);
        var metrics = await Metrics(redis.Connection, stream);
        metrics.Windowed.Should().Be(3);
        metrics.Results.Should().BeGreaterThan(100_000, "a 100 s window sliding by the millisecond fires once per millisecond it holds an event");
    }

    [Fact]
    public async Task Produce_refuses_a_line_that_is_not_valid_UTF8_names_it_and_counts_it_instead_of_publishing_it_altered()
    {
        // Regression: produce decoded the file with U+FFFD for invalid bytes and published the altered line.
        var input = Path.Combine(Path.GetDirectoryName(WriteInput("dir-probe.ndjson", 1, 0, 1))!, Guid.NewGuid().ToString("N")[..6] + "-utf8.ndjson");
        var bad = Encoding.UTF8.GetBytes("""{"timestamp":1000,"data":{"url":"/a_"}}""").Select(b => b == (byte)'_' ? (byte)0xFF : b);
        await File.WriteAllBytesAsync(input, [.. Encoding.UTF8.GetBytes("""{"timestamp":1,"data":{"url":"/a"}}""" + "\n"), .. bad, (byte)'\n', .. Encoding.UTF8.GetBytes("""{"timestamp":2,"data":{"url":"/a"}}""" + "\n")]);
        var stream = "utf8-" + Guid.NewGuid().ToString("N")[..8];

        using var produce = CliProcess.Start("produce", "--redis", redis.Configuration, "--stream", stream, "--input", input);

        (await produce.WaitAsync(Timeout)).Should().Be(0, produce.Stderr);
        produce.Stderr.Should().Contain("line 2 refused, not published: line is not valid UTF-8 at byte 36 (0xFF)")
            .And.Contain("3 lines read (0 blank, 1 refused as not valid UTF-8): 2 published");
        var entries = await redis.Connection.GetDatabase().StreamRangeAsync(stream);
        entries.Select(e => (string?)e["event"]).Should().Equal("""{"timestamp":1,"data":{"url":"/a"}}""", """{"timestamp":2,"data":{"url":"/a"}}""");
    }

    [Theory]
    [InlineData("produce")]
    [InlineData("worker")]
    [InlineData("results")]
    public async Task An_unreachable_Redis_is_one_line_and_with_verbose_also_the_clients_diagnostics(string command)
    {
        // Nothing listens on port 1.
        const string Nowhere = "127.0.0.1:1,connectTimeout=300";
        string[] args = command switch
        {
            "produce" => ["produce", "--redis", Nowhere, "--stream", "s", "--input", WriteInput("in.ndjson", 1, 0, 1)],
            "worker" => ["worker", "--redis", Nowhere, "--stream", "s", "--group", "g", "--consumer", "c", "--window", "tumbling:1s", "--key", "k", "--agg", "count", "--output", "-"],
            _ => ["results", "--redis", Nowhere, "--stream", "s", "--group", "g", "--output", "-"],
        };

        using var quiet = CliProcess.Start(args);
        (await quiet.WaitAsync(Timeout)).Should().Be(1, quiet.Stderr);
        quiet.Stderr.TrimEnd().Should().NotContain("\n", "one line").And.Contain($"eventstream {command}: cannot reach Redis at '127.0.0.1:1").And.Contain("--verbose");

        using var verbose = CliProcess.Start([.. args, "--verbose"]);
        (await verbose.WaitAsync(Timeout)).Should().Be(1, verbose.Stderr);
        verbose.Stderr.Should().Contain("StackExchange.Redis.RedisConnectionException", "the client's exception, with its details")
            .And.Contain("UnableToConnect")
            .And.Contain($"eventstream {command}: cannot reach Redis at '127.0.0.1:1");
        verbose.Stderr.TrimEnd().Split('\n').Length.Should().BeGreaterThan(quiet.Stderr.TrimEnd().Split('\n').Length);
        verbose.Stderr.Length.Should().BeGreaterThan(quiet.Stderr.Length + 500, "the diagnostics the one line leaves out");
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
        unreachable.Stderr.TrimEnd().Should().NotContain("\n", "one line").And.Match(s => s.Length < 300, "the address and the reason, not the client's diagnostics (about 1,000 characters before)");
    }

}

/// <summary>The worker process tests' private redis-server.</summary>
[CollectionDefinition(Name)]
public sealed class RedisTests : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis";
}
