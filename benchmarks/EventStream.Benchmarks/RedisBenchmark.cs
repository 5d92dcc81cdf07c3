using EventStream.Redis;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventStream.Benchmarks.Baseline;
using EventStream.Tests;
using StackExchange.Redis;

namespace EventStream.Benchmarks;

/// <summary>One page view: the URL (the window key), its event time (epoch ms, rising) and a duration (the summed value).</summary>
public sealed record UrlTiming(string Url, long Ts, double Ms);

/// <summary>
/// End to end through a private redis-server on this machine — produce → consumer group → window update → ack — with a
/// stopwatch, in events/s:
/// <list type="bullet">
/// <item>The Lua window worker (the retired <c>RedisWindowWorker</c>, kept as <see cref="LuaWindowWorker{T}"/> until
/// issue 10 is done): <see cref="RedisStreamProducer{T}"/> publishing batches of 1,000 while 1 or 2 workers (same
/// process, one <see cref="ConnectionMultiplexer"/> each) run tumbling 1-minute windows summing <see cref="UrlTiming.Ms"/>
/// per URL. The clock runs from the first publish until the group's shared <c>windowed</c> counter
/// (<see cref="LuaWindowWorker{T}.GetMetricsAsync"/>, polled every 10 ms on another connection) reaches the event count.</item>
/// <item>The original design, as a baseline: pipelined <c>LPUSH</c> of each event's JSON to a list; each consumer
/// <c>RPOP</c>s one event at a time, parses it and makes 4 sequential awaited round trips (<c>HINCRBY</c> count,
/// <c>HINCRBYFLOAT</c> sum, <c>EXPIRE</c>, <c>HINCRBY</c> total). The clock stops when the total (polled the same way)
/// reaches the event count.</item>
/// <item>The limit: <c>redis-benchmark</c> XADD of the same payload with pipelining.</item>
/// <item>The partitioned path (issue 10, <c>RedisBenchmark.Partitioned.cs</c>): the same window as a
/// <see cref="PipelineBuilder"/> pipeline run by 1 or 2 <see cref="RedisPartitionedWorker{T}"/>s
/// while the producer publishes, and by 1 worker draining a stream filled beforehand.</item>
/// </list>
/// Every timed run is checked afterwards (outside the clock): the Lua worker's fired windows (after a finishing worker
/// closes the last ones) and the baseline's window hashes equal the sums computed in memory.
/// </summary>
public static partial class RedisBenchmark
{
    public const long StartMs = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    public const int EventsPerMinute = 10_000;     // event time: one event every 6 ms, whatever the count
    public const int ProducerBatch = 1_000;
    public const int Seed = 20_260_401;
    public const double ZipfExponent = 1.0;
    public const int PollMs = 10;
    public const int ProfileEvents = 30_000;
    public const int SlowlogLength = 600_000;
    public const int BaselineTtlSeconds = 3_600;

    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    /// <summary>The commands the worker's scripts call (commandstats counts them on their own lines too).</summary>
    private static readonly string[] ScriptCommands =
        ["xreadgroup", "zadd", "zrem", "xack", "hincrby", "hincrbyfloat", "hget", "hmget", "hset", "hdel", "del", "zrangebyscore", "zrange", "zscore", "incrby", "expire", "time", "xrange"];

    public static async Task<int> RunAsync(string[] args)
    {
        Settings settings;
        try
        {
            settings = Settings.Parse(args);
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }

        await using var session = await Session.StartAsync(settings.Aof);
        var (loadAtStart, log, output, server, admin) = session;
        var events = CreateEvents(settings.Events, settings.Keys, settings.Uniform, Seed);
        var baselineEvents = events.Length == settings.BaselineEvents ? events : CreateEvents(settings.BaselineEvents, settings.Keys, settings.Uniform, Seed);
        var expected = Expected.Of(events);
        var baselineExpected = ReferenceEquals(events, baselineEvents) ? expected : Expected.Of(baselineEvents);
        var payload = JsonSerializer.Serialize(events[events.Length / 2]);
        output.WriteLine(Invariant($"events: {events.Length:N0} for the Lua and partitioned workers ({expected.Windows.Count:N0} windows), {baselineEvents.Length:N0} for the baseline ({baselineExpected.Windows.Count:N0} windows); payload e.g. {payload} ({Encoding.UTF8.GetByteCount(payload)} B)"));

        var configurations = new List<Configuration>
        {
            new("redis-benchmark XADD", Kind.RedisBenchmark, 0, 0, settings.Events),
            new("Original design (list + 4 round trips/event), 1 consumer", Kind.Baseline, 1, 0, baselineEvents.Length),
            new("Original design (list + 4 round trips/event), 2 consumers", Kind.Baseline, 2, 0, baselineEvents.Length),
        };
        foreach (var batch in settings.BatchSizes)
        {
            configurations.Add(new(Invariant($"Lua window worker (RedisWindowWorker, baseline copy), 1 worker, BatchSize {batch}"), Kind.LuaWorker, 1, batch, events.Length));
            configurations.Add(new(Invariant($"Lua window worker (RedisWindowWorker, baseline copy), 2 workers, BatchSize {batch}"), Kind.LuaWorker, 2, batch, events.Length));
        }

        configurations.Add(new("EventStream partitioned, 1 worker", Kind.Partitioned, 1, 0, events.Length));
        configurations.Add(new("EventStream partitioned, 2 workers", Kind.Partitioned, 2, 0, events.Length));
        configurations.Add(new("EventStream partitioned, 1 worker, draining a filled stream", Kind.PartitionedDrain, 1, 0, events.Length));

        // Warm-up (JIT, script cache, allocator): not reported.
        output.WriteLine("warm-up: Lua worker 1 worker on 20,000 events, baseline 1 consumer on 2,000 events, partitioned 1 worker on 20,000 events (not reported)");
        await LuaWorkerAsync(server, admin, events[..Math.Min(20_000, events.Length)], 1, settings.BatchSizes[0], null);
        await BaselineAsync(server, admin, baselineEvents[..Math.Min(2_000, baselineEvents.Length)], 1, null);
        await PartitionedAsync(server, admin, events[..Math.Min(20_000, events.Length)], 1, drain: false, null, output);

        var problems = new List<string>();
        var runs = configurations.ToDictionary(c => c, _ => new List<Run>());
        for (var round = 1; round <= settings.Repetitions; round++)
        {
            foreach (var configuration in configurations)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var load = Machine.LoadAverage().Split(' ')[0];
                var run = configuration.Kind switch
                {
                    Kind.RedisBenchmark => await RedisBenchmarkAsync(server, admin, settings, payload),
                    Kind.Baseline => await BaselineAsync(server, admin, baselineEvents, configuration.Workers, baselineExpected),
                    Kind.Partitioned => await PartitionedAsync(server, admin, events, configuration.Workers, drain: false, expected, output),
                    Kind.PartitionedDrain => await PartitionedAsync(server, admin, events, configuration.Workers, drain: true, expected, output),
                    _ => await LuaWorkerAsync(server, admin, events, configuration.Workers, configuration.BatchSize, expected),
                };
                run.Round = round;
                run.Load = load;
                runs[configuration].Add(run);
                output.WriteLine(Invariant($"round {round}: {configuration.Name}: {run.EventsPerSecond:N0} events/s (load {load}, {run.Seconds * 1000:N0} ms{(run.ProducerDoneSeconds is { } p ? $", producer done at {p * 1000:N0} ms" : "")}, redis-server CPU {run.ServerCpuSeconds / run.Seconds:P0} of wall, client CPU {run.ClientCpuSeconds / run.Seconds:P0}) {run.Check}"));
                if (!run.Ok)
                {
                    problems.Add(Invariant($"round {round}, {configuration.Name}: {run.Check}"));
                }
            }
        }

        var profile = settings.Profile ? await ProfileAsync(server, admin, events, settings.BatchSizes, expected, output) : null;
        var text = Report(settings, server, loadAtStart, events.Length, baselineEvents.Length, expected, payload, configurations, runs, problems, out var passed);
        if (profile is not null)
        {
            text += Environment.NewLine + profile;
        }

        Console.WriteLine();
        Console.WriteLine(text);
        Directory.CreateDirectory(Paths.ResultsDirectory);
        var file = Path.Combine(Paths.ResultsDirectory, "redis-throughput.md");
        await File.WriteAllTextAsync(file, text + Environment.NewLine + "## Log" + Environment.NewLine + Environment.NewLine + "```" + Environment.NewLine + log + "```" + Environment.NewLine);
        Console.WriteLine($"Wrote {file}");
        return problems.Count > 0 ? 1 : passed ? 0 : 2;
    }

    private static string Report(
        Settings settings, PrivateRedis server, string loadAtStart, int eventCount, int baselineCount, Expected expected, string payload,
        List<Configuration> configurations, Dictionary<Configuration, List<Run>> runs, List<string> problems, out bool passed)
    {
        var median = configurations.ToDictionary(c => c, c => Median(runs[c].Select(r => r.EventsPerSecond)));
        var limit = median[configurations.Single(c => c.Kind == Kind.RedisBenchmark)];
        double? Baseline(int workers) => configurations.FirstOrDefault(c => c.Kind == Kind.Baseline && c.Workers == workers) is { } b ? median[b] : null;

        var text = new StringBuilder();
        text.AppendLine("# Redis end to end: produce → consumer group → window update → ack");
        text.AppendLine();
        text.AppendLine(Invariant($"`cd {Environment.CurrentDirectory} && dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- {string.Join(' ', settings.Arguments.Prepend("redis"))}`"));
        text.AppendLine();
        text.AppendLine(Invariant($"{Machine.Describe(loadAtStart)}. Client and redis-server share the machine: compare ratios, not absolute rates."));
        text.AppendLine();
        text.AppendLine("## Setup");
        text.AppendLine();
        text.AppendLine(Invariant($"""
            - Server: a private `redis-server` {server.Version} started for the run on 127.0.0.1:{server.Port} (free loopback port, temporary directory), `{server.Persistence}`; `FLUSHALL` and `CONFIG RESETSTAT` between runs (outside the clock); stopped at the end.
            - Events: `UrlTiming(string Url, long Ts, double Ms)`, JSON like `{payload}`; Url one of {settings.Keys:N0} keys ({(settings.Uniform ? "uniform" : $"Zipf, exponent {ZipfExponent:0.0}")}), Ts rising by 60,000/{EventsPerMinute:N0} = {60_000 / EventsPerMinute} ms per event (so {eventCount:N0} events span {eventCount / EventsPerMinute:N0} minutes of event time: {expected.Windows.Count:N0} (url, minute) windows), Ms uniform 0–500 with one decimal. Seeded ({Seed}), built before timing.
            - Lua window worker: `RedisStreamProducer<UrlTiming>.PublishAsync` in batches of {ProducerBatch:N0} (one pipelined round trip each, awaited in turn; no lag backpressure: `Group` unset) on its own connection, concurrently with N workers in this process, each with its own `ConnectionMultiplexer` and consumer name. The worker is `RedisWindowWorker<UrlTiming>` as it was before its retirement in issue 10, kept in the benchmark project as `Baseline/LuaWindowWorker.cs` (trimmed to this case, the per-batch work unchanged): tumbling 1 min, sum of Ms keyed by Url, OutOfOrderness 0, web-convention JSON and poll delays (1–250 ms), trimming the acknowledged input. Fresh stream and group per run. Clock: from the first publish until `GetMetricsAsync().Windowed` (polled every {PollMs} ms on a separate connection) reaches the event count — every event applied (and acknowledged in the same script); windows whose end the watermark passed have fired too. Not subtracted: worker start-up (group check, first claim/trim pass) and ≤ {PollMs} ms of poll granularity.
              Check (after the clock): the workers are cancelled, one more worker with `CompleteWhenIdle` 50 ms closes the remaining windows, and the results stream must hold exactly the in-memory (url, minute) windows with equal counts and sums; `Late` and `DeadLettered` must be 0.
            - Original design (baseline, the TypeScript module's approach): the producer `LPUSH`es each event's JSON to a list, pipelined in batches of {ProducerBatch:N0} (same speed class as the XADD producer); each consumer (own connection) loops `RPOP` (awaited; 1 ms sleep when empty), parses the JSON, then awaits in turn `HINCRBY win:URL:START count 1`, `HINCRBYFLOAT win:URL:START sum MS`, `EXPIRE win:URL:START {BaselineTtlSeconds}`, `HINCRBY totals total 1` — 5 round trips per event counting the pop. No windows are ever emitted (as in the original). {baselineCount:N0} events per run (events/s compare). Clock: from the first push until `HGET totals total` (polled every {PollMs} ms) reaches the event count. Check: every window hash's count and sum equal the in-memory ones.
            - {PartitionedSetup()}
            - Limit: `redis-benchmark -h 127.0.0.1 -p PORT -n {settings.Events} -P {settings.Pipeline} -c {settings.Clients} -q XADD KEY * event <payload above>` (the stock `-t` tests have no XADD), requests/s parsed from its output.
            - {settings.Repetitions} rounds; each round runs every configuration once in the order listed (after one untimed warm-up); medians, min and max over the rounds.
            """));
        text.AppendLine();
        text.AppendLine("## Results");
        text.AppendLine();
        text.AppendLine("| Configuration | Events | Median events/s | Min | Max | × baseline (same worker count) | × redis-benchmark XADD |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var c in configurations)
        {
            var rates = runs[c].Select(r => r.EventsPerSecond).ToArray();
            var vsBaseline = c.Kind is Kind.LuaWorker or Kind.Partitioned && Baseline(c.Workers) is { } b ? Invariant($"{median[c] / b:0.0}×") : c.Kind == Kind.Baseline ? "1.0×" : "—";
            text.AppendLine(Invariant($"| {c.Name} | {c.Events:N0} | {median[c]:N0} | {rates.Min():N0} | {rates.Max():N0} | {vsBaseline} | {median[c] / limit:0.00}× |"));
        }

        // The Lua worker's own targets (issue 4) are no longer judged: it is retired, and its copy is only the baseline.
        passed = true;
        var ok = true;
        ok &= PartitionedTargets(text, configurations, median, runs, settings.Pipeline);
        passed = ok;
        var best = configurations.Where(c => c.Kind == Kind.LuaWorker && c.Workers == 1).MaxBy(c => median[c]);
        if (best is not null && settings.BatchSizes.Length > 1)
        {
            text.AppendLine();
            text.AppendLine(Invariant($"Best single-worker setting: {best.Name} ({median[best]:N0} events/s)."));
        }

        text.AppendLine();
        text.AppendLine(problems.Count == 0
            ? "Correctness: every timed run passed its check (Lua worker: all windows fired once with the in-memory counts and sums, Late = DeadLettered = 0; partitioned: every window committed once with the in-memory counts and sums, Read = Windowed = events, Late = DeadLettered = 0, every partition final; baseline: every window hash equal to the in-memory sums)."
            : "Correctness: FAILED\n\n" + string.Join("\n", problems.Select(p => "- " + p)));
        text.AppendLine();
        text.AppendLine("## Where the time goes (medians over the rounds)");
        text.AppendLine();
        text.AppendLine("redis-server CPU = `used_cpu_user + used_cpu_sys` (INFO cpu) during the run / wall time (1 core = 100 %); client CPU = this process's CPU time / wall time (the machine has 2 cores); server µs/event = that server CPU / events.");
        text.AppendLine();
        text.AppendLine("| Configuration | Median time | Producer done at | redis-server CPU / wall | client CPU / wall | server CPU µs per event | client CPU µs per event |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var c in configurations)
        {
            var r = runs[c];
            var producer = r.All(x => x.ProducerDoneSeconds is not null) ? Invariant($"{Median(r.Select(x => x.ProducerDoneSeconds!.Value)) * 1000:N0} ms") : "—";
            var client = c.Kind == Kind.RedisBenchmark ? "— (separate process)" : Invariant($"{Median(r.Select(x => x.ClientCpuSeconds / x.Seconds)):P0}");
            var clientPerEvent = c.Kind == Kind.RedisBenchmark ? "—" : Invariant($"{Median(r.Select(x => x.ClientCpuSeconds * 1e6 / c.Events)):0.0}");
            text.AppendLine(Invariant($"| {c.Name} | {Median(r.Select(x => x.Seconds)) * 1000:N0} ms | {producer} | {Median(r.Select(x => x.ServerCpuSeconds / x.Seconds)):P0} | {client} | {Median(r.Select(x => x.ServerCpuSeconds * 1e6 / c.Events)):0.00} | {clientPerEvent} |"));
        }

        foreach (var c in configurations.Where(c => c.Kind is Kind.LuaWorker or Kind.Partitioned or Kind.PartitionedDrain || (c.Kind == Kind.Baseline && c.Workers == 1)))
        {
            var r = runs[c].OrderBy(x => x.EventsPerSecond).ElementAt(runs[c].Count / 2);
            text.AppendLine();
            text.AppendLine(Invariant($"### `INFO commandstats`: {c.Name}, round {r.Round} (the median run), top 12 by total time"));
            text.AppendLine();
            text.AppendLine("Commands a Lua script calls are counted on their own line as well as inside `evalsha`.");
            text.AppendLine();
            text.AppendLine("| Command | Calls | Calls per event | Total µs | µs per call | µs per event |");
            text.AppendLine("|---|---:|---:|---:|---:|---:|");
            foreach (var s in r.CommandStats.OrderByDescending(s => s.Usec).Take(12))
            {
                text.AppendLine(Invariant($"| {s.Command} | {s.Calls:N0} | {s.Calls / (double)c.Events:0.000} | {s.Usec:N0} | {s.Usec / (double)Math.Max(1, s.Calls):0.00} | {s.Usec / (double)c.Events:0.00} |"));
            }

            if (c.Kind == Kind.LuaWorker)
            {
                var scripts = r.CommandStats.Where(s => s.Command is "evalsha" or "eval").Sum(s => s.Usec) / (double)c.Events;
                var called = r.CommandStats.Where(s => ScriptCommands.Contains(s.Command)).Sum(s => s.Usec) / (double)c.Events;
                text.AppendLine();
                text.AppendLine(Invariant($"Scripts (`evalsha` + `eval`): {scripts:0.00} µs per event; the commands they call ({string.Join(", ", ScriptCommands)}; the results' XADDs left out, ~0.1 per event): {called:0.00} µs per event; **the Lua interpreter itself** (building keys, converting arguments and replies, `redis.call` dispatch): {scripts - called:0.00} µs per event ({(scripts - called) / scripts:P0} of the scripts' time)."));
            }
        }

        text.AppendLine();
        text.AppendLine("## Every run");
        text.AppendLine();
        text.AppendLine("Load = the 1-minute load average just before the run (2 cores; other work on the machine shows up here).");
        text.AppendLine();
        text.AppendLine("| Round | Configuration | Load | Time | Events/s | Producer done at | redis-server CPU | Check |");
        text.AppendLine("|---:|---|---:|---:|---:|---:|---:|---|");
        foreach (var c in configurations)
        {
            foreach (var r in runs[c])
            {
                text.AppendLine(Invariant($"| {r.Round} | {c.Name} | {r.Load} | {r.Seconds * 1000:N0} ms | {r.EventsPerSecond:N0} | {(r.ProducerDoneSeconds is { } p ? $"{p * 1000:N0} ms" : "—")} | {r.ServerCpuSeconds * 1000:N0} ms | {r.Check} |"));
            }
        }

        return text.ToString();
    }

    private static async Task<Run> LuaWorkerAsync(PrivateRedis server, ConnectionMultiplexer admin, UrlTiming[] events, int workerCount, int batchSize, Expected? expected, Func<Task>? beforeFlush = null)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var stream = "es-bench:" + id;
        const string group = "g";
        LuaWindowOptions<UrlTiming> Options(string consumer) => new()
        {
            Stream = stream,
            Group = group,
            Consumer = consumer,
            Assigner = WindowAssigner.Tumbling(Window),
            Key = e => e.Url,
            Timestamp = e => e.Ts,
            Value = e => e.Ms,
            BatchSize = batchSize,
        };

        var chunks = events.Chunk(ProducerBatch).ToArray();
        var producerConnection = await ConnectAsync(server.Endpoint);
        var workerConnections = new ConnectionMultiplexer[workerCount];
        for (var i = 0; i < workerCount; i++)
        {
            workerConnections[i] = await ConnectAsync(server.Endpoint);
        }

        try
        {
            await admin.GetDatabase().StreamCreateConsumerGroupAsync(stream, group, "0", createStream: true);
            var producer = new RedisStreamProducer<UrlTiming>(producerConnection, new RedisStreamOptions { Stream = stream });
            var workers = workerConnections.Select((c, i) => new LuaWindowWorker<UrlTiming>(c, Options(Invariant($"bench-{id}-w{i}")))).ToArray();
            var monitor = new LuaWindowWorker<UrlTiming>(admin, Options("monitor-" + id));
            var before = await Snapshot.TakeAsync(server, admin, reset: true);
            using var stop = new CancellationTokenSource();
            var clock = Stopwatch.StartNew();
            double? producerDone = null;
            var producing = Task.Run(async () =>
            {
                foreach (var chunk in chunks)
                {
                    await producer.PublishAsync(chunk);
                }

                producerDone = clock.Elapsed.TotalSeconds;
            });
            var running = workers.Select(w => Task.Run(() => w.RunAsync(stop.Token))).ToArray();
            LuaWindowMetrics metrics;
            while (true)
            {
                metrics = await monitor.GetMetricsAsync();
                if (metrics.Windowed + metrics.Late + metrics.DeadLettered >= events.Length)
                {
                    break;
                }

                if (running.FirstOrDefault(t => t.IsFaulted) is { } failed)
                {
                    await failed; // throws the worker's exception
                }

                await Task.Delay(PollMs);
            }

            var seconds = clock.Elapsed.TotalSeconds;
            var after = await Snapshot.TakeAsync(server, admin, reset: false);
            if (beforeFlush is not null)
            {
                await beforeFlush();
            }

            await producing;
            await stop.CancelAsync();
            foreach (var task in running)
            {
                try
                {
                    await task;
                }
                catch (OperationCanceledException)
                {
                }
            }

            var check = "warm-up";
            var ok = true;
            if (expected is not null)
            {
                (ok, check) = await CheckLuaWorkerAsync(admin, Options("finisher-" + id), metrics, events.Length, expected);
            }

            return new Run(seconds, events.Length / seconds, producerDone, after.ServerCpu - before.ServerCpu, after.ClientCpu - before.ClientCpu, after.Commands, ok, check);
        }
        finally
        {
            foreach (var c in workerConnections.Append(producerConnection))
            {
                await c.DisposeAsync();
            }

            await server.Admin(admin).FlushAllDatabasesAsync();
        }
    }

    /// <summary>
    /// One more Lua worker run per batch size (1 worker, not in the table) with <c>SLOWLOG</c> recording every command
    /// and its duration, to split the server time: the worker's read script, its apply script, the producer's XADDs, and
    /// inside the scripts the commands they call (logged with client <c>?:0</c>) vs the Lua interpreter itself. The
    /// scripts are told apart by their arguments: read = 5 ARGV, metrics = 1 ARGV, apply = the rest (ARGV[11] = entries).
    /// </summary>
    private static async Task<string> ProfileAsync(PrivateRedis server, ConnectionMultiplexer admin, UrlTiming[] events, int[] batchSizes, Expected expected, TextWriter output)
    {
        var text = new StringBuilder();
        events = events[..Math.Min(events.Length, ProfileEvents)];
        expected = Expected.Of(events);
        text.AppendLine("## Server time per script (SLOWLOG profile)");
        text.AppendLine();
        text.AppendLine(Invariant($"""
            One extra Lua worker run per batch size, 1 worker, {events.Length:N0} events, after the rounds, with `slowlog-log-slower-than 0`: every command is logged with its duration (wall time on the server thread), the ones the scripts call too (client `?:0` in the log). Logging copies every call's arguments, which slows the server and inflates the scripts' times (more calls inside them), so these runs are not in the table; read the split, not the absolute numbers. Times per event are over all {events.Length:N0} events.
            """));
        text.AppendLine();
        text.AppendLine("| BatchSize | Run events/s | Top-level command | Calls | Entries | Total ms | µs per call | µs per event | Share of top-level time |");
        text.AppendLine("|---:|---:|---|---:|---:|---:|---:|---:|---:|");
        var nestedText = new StringBuilder();
        nestedText.AppendLine("Inside the scripts (read + apply + metrics together): the commands they call, and the rest of the scripts' time (the Lua interpreter, building keys, converting arguments and replies, `redis.call` dispatch).");
        nestedText.AppendLine();
        nestedText.AppendLine("| BatchSize | Called from Lua | Calls | Calls per event | Total ms | µs per call | µs per event | Share of script time |");
        nestedText.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|");
        var redis = server.Admin(admin);
        foreach (var batch in batchSizes)
        {
            await redis.ConfigSetAsync("slowlog-max-len", SlowlogLength);
            await redis.ConfigSetAsync("slowlog-log-slower-than", 0);
            await redis.SlowlogResetAsync();
            Run run;
            RedisResult[] log;
            try
            {
                GC.Collect();
                run = await LuaWorkerAsync(server, admin, events, 1, batch, expected, beforeFlush: () => redis.ConfigSetAsync("slowlog-log-slower-than", -1));
            }
            finally
            {
                log = (RedisResult[])(await redis.ExecuteAsync("SLOWLOG", "GET", SlowlogLength))!;
                await redis.ConfigSetAsync("slowlog-log-slower-than", 10_000);
                await redis.ConfigSetAsync("slowlog-max-len", 128);
                await redis.SlowlogResetAsync();
            }

            output.WriteLine(Invariant($"profile, BatchSize {batch}: {run.EventsPerSecond:N0} events/s with SLOWLOG on, {log.Length:N0} commands logged{(log.Length >= SlowlogLength ? " (the log was full: the oldest were dropped)" : "")}; {run.Check}"));
            var top = new Dictionary<string, (long Calls, long Entries, double Micros)>();
            var nested = new Dictionary<string, (long Calls, double Micros)>();
            foreach (var raw in log)
            {
                var entry = (RedisResult[])raw!;
                var micros = (double)(long)entry[2];
                var args = ((RedisResult[])entry[3]!).Select(a => (string?)a ?? "").ToArray();
                var client = entry.Length > 4 ? (string?)entry[4] ?? "" : "";
                var name = args.Length > 0 ? args[0].ToUpperInvariant() : "?";
                if (client == "?:0")
                {
                    nested.TryGetValue(name, out var n);
                    nested[name] = (n.Calls + 1, n.Micros + micros);
                    continue;
                }

                long entries = 0;
                if (name is "EVALSHA" or "EVAL")
                {
                    var argv = args.Length >= 32 ? long.MaxValue // SLOWLOG keeps 32 arguments: only the apply script has that many
                        : args.Length >= 3 && long.TryParse(args[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var keys) ? args.Length - 3 - keys : -1;
                    switch (argv)
                    {
                        case 5:
                            name = "read script (XREADGROUP, in-flight ZADD per entry)";
                            break;
                        case 1:
                            name = "metrics script (the monitor's poll)";
                            break;
                        default:
                            entries = args.Length > 14 && long.TryParse(args[14], NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) ? count : 0;
                            name = entries > 0 ? "apply script, with entries" : "apply script, no entries (idle: fire what is due)";
                            break;
                    }
                }
                else if (name == "XADD")
                {
                    name = "XADD (producer)";
                }

                top.TryGetValue(name, out var g);
                top[name] = (g.Calls + 1, g.Entries + entries, g.Micros + micros);
            }

            var topTotal = top.Values.Sum(g => g.Micros);
            foreach (var (name, g) in top.OrderByDescending(g => g.Value.Micros).Take(6))
            {
                text.AppendLine(Invariant($"| {batch} | {run.EventsPerSecond:N0} | {name} | {g.Calls:N0} | {(g.Entries > 0 ? g.Entries.ToString("N0", CultureInfo.InvariantCulture) : "—")} | {g.Micros / 1000:N1} | {g.Micros / g.Calls:N1} | {g.Micros / events.Length:0.00} | {g.Micros / topTotal:P0} |"));
            }

            var scripts = top.Where(t => t.Key.Contains("script", StringComparison.Ordinal)).Sum(t => t.Value.Micros);
            var inside = nested.Values.Sum(n => n.Micros);
            foreach (var (name, n) in nested.OrderByDescending(n => n.Value.Micros).Take(7))
            {
                nestedText.AppendLine(Invariant($"| {batch} | {name} | {n.Calls:N0} | {n.Calls / (double)events.Length:0.00} | {n.Micros / 1000:N1} | {n.Micros / n.Calls:0.00} | {n.Micros / events.Length:0.00} | {n.Micros / scripts:P0} |"));
            }

            nestedText.AppendLine(Invariant($"| {batch} | all {nested.Values.Sum(n => n.Calls):N0} calls | {nested.Values.Sum(n => n.Calls):N0} | {nested.Values.Sum(n => n.Calls) / (double)events.Length:0.00} | {inside / 1000:N1} | {inside / Math.Max(1, nested.Values.Sum(n => n.Calls)):0.00} | {inside / events.Length:0.00} | {inside / scripts:P0} |"));
            nestedText.AppendLine(Invariant($"| {batch} | **the rest: Lua itself** | — | — | {(scripts - inside) / 1000:N1} | — | {(scripts - inside) / events.Length:0.00} | {(scripts - inside) / scripts:P0} |"));
        }

        text.AppendLine();
        text.Append(nestedText);
        return text.ToString();
    }

    private static async Task<(bool Ok, string Check)> CheckLuaWorkerAsync(ConnectionMultiplexer admin, LuaWindowOptions<UrlTiming> options, LuaWindowMetrics metrics, int count, Expected expected)
    {
        options.CompleteWhenIdle = TimeSpan.FromMilliseconds(50);
        var finisher = new LuaWindowWorker<UrlTiming>(admin, options);
        await finisher.RunAsync();
        var db = admin.GetDatabase();
        var seen = new Dictionary<(string Url, long Start), (long Count, double Sum)>();
        var problems = new List<string>();
        RedisValue from = "-";
        while (true)
        {
            var page = await db.StreamRangeAsync(finisher.ResultsStream, from, "+", 10_000);
            foreach (var entry in page)
            {
                var key = (string)entry["key"]!;
                var start = (long)entry["start"];
                if (!seen.TryAdd((key, start), ((long)entry["count"], double.Parse((string)entry["value"]!, CultureInfo.InvariantCulture))))
                {
                    problems.Add($"window ({key}, {start}) fired twice");
                }
            }

            if (page.Length < 10_000)
            {
                break;
            }

            from = "(" + page[^1].Id;
        }

        if (metrics.Late != 0 || metrics.DeadLettered != 0 || metrics.Windowed != count)
        {
            problems.Add($"windowed {metrics.Windowed}, late {metrics.Late}, dead-lettered {metrics.DeadLettered} (expected {count}, 0, 0)");
        }

        if (seen.Count != expected.Windows.Count)
        {
            problems.Add($"{seen.Count} windows fired, expected {expected.Windows.Count}");
        }

        foreach (var (window, (c, sum)) in expected.Windows)
        {
            if (!seen.TryGetValue(window, out var got) || got.Count != c || Math.Abs(got.Sum - sum) > 1e-9 * Math.Max(1, Math.Abs(sum)))
            {
                problems.Add($"window {window}: expected count {c} sum {sum}, got {(seen.ContainsKey(window) ? got.ToString() : "nothing")}");
                break;
            }
        }

        return problems.Count == 0
            ? (true, Invariant($"OK: {seen.Count:N0} windows, counts and sums equal"))
            : (false, "FAIL: " + string.Join("; ", problems.Take(3)));
    }

    private static async Task<Run> BaselineAsync(PrivateRedis server, ConnectionMultiplexer admin, UrlTiming[] events, int consumerCount, Expected? expected)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var prefix = "orig:" + id + ":";
        RedisKey queue = prefix + "queue";
        RedisKey totals = prefix + "totals";
        var chunks = events.Chunk(ProducerBatch).ToArray();
        var producerConnection = await ConnectAsync(server.Endpoint);
        var consumerConnections = new ConnectionMultiplexer[consumerCount];
        for (var i = 0; i < consumerCount; i++)
        {
            consumerConnections[i] = await ConnectAsync(server.Endpoint);
        }

        try
        {
            var done = 0;
            var db = admin.GetDatabase();
            var before = await Snapshot.TakeAsync(server, admin, reset: true);
            var clock = Stopwatch.StartNew();
            double? producerDone = null;
            var producing = Task.Run(async () =>
            {
                var producerDb = producerConnection.GetDatabase();
                foreach (var chunk in chunks)
                {
                    var sends = new Task<long>[chunk.Length];
                    for (var i = 0; i < chunk.Length; i++)
                    {
                        sends[i] = producerDb.ListLeftPushAsync(queue, JsonSerializer.Serialize(chunk[i]));
                    }

                    await Task.WhenAll(sends);
                }

                producerDone = clock.Elapsed.TotalSeconds;
            });
            var consuming = consumerConnections.Select(c => Task.Run(async () =>
            {
                var cdb = c.GetDatabase();
                var ttl = TimeSpan.FromSeconds(BaselineTtlSeconds);
                while (true)
                {
                    var value = await cdb.ListRightPopAsync(queue);
                    if (value.IsNull)
                    {
                        if (Volatile.Read(ref done) == 1)
                        {
                            return;
                        }

                        await Task.Delay(1);
                        continue;
                    }

                    var view = JsonSerializer.Deserialize<UrlTiming>((string)value!)!;
                    RedisKey window = prefix + "win:" + view.Url + ":" + WindowStart(view.Ts).ToString(CultureInfo.InvariantCulture);
                    await cdb.HashIncrementAsync(window, "count", 1);
                    await cdb.HashIncrementAsync(window, "sum", view.Ms);
                    await cdb.KeyExpireAsync(window, ttl);
                    await cdb.HashIncrementAsync(totals, "total", 1);
                }
            })).ToArray();
            while (true)
            {
                var total = await db.HashGetAsync(totals, "total");
                if (!total.IsNull && (long)total >= events.Length)
                {
                    break;
                }

                if (consuming.FirstOrDefault(t => t.IsFaulted) is { } failed)
                {
                    await failed;
                }

                await Task.Delay(PollMs);
            }

            var seconds = clock.Elapsed.TotalSeconds;
            var after = await Snapshot.TakeAsync(server, admin, reset: false);
            Volatile.Write(ref done, 1);
            await producing;
            await Task.WhenAll(consuming);
            var check = "warm-up";
            var ok = true;
            if (expected is not null)
            {
                var reads = expected.Windows.Keys.Select(w => (w, db.HashGetAsync(prefix + "win:" + w.Url + ":" + w.Start.ToString(CultureInfo.InvariantCulture), ["count", "sum"]))).ToArray();
                var problems = new List<string>();
                foreach (var (w, read) in reads)
                {
                    var values = await read;
                    var want = expected.Windows[w];
                    if (values[0].IsNull || (long)values[0] != want.Count || Math.Abs((double)values[1] - want.Sum) > 1e-9 * Math.Max(1, Math.Abs(want.Sum)))
                    {
                        problems.Add($"window {w}: expected {want}, got ({values[0]}, {values[1]})");
                    }
                }

                ok = problems.Count == 0;
                check = ok ? Invariant($"OK: {reads.Length:N0} window hashes equal") : "FAIL: " + string.Join("; ", problems.Take(3));
            }

            return new Run(seconds, events.Length / seconds, producerDone, after.ServerCpu - before.ServerCpu, after.ClientCpu - before.ClientCpu, after.Commands, ok, check);
        }
        finally
        {
            foreach (var c in consumerConnections.Append(producerConnection))
            {
                await c.DisposeAsync();
            }

            await server.Admin(admin).FlushAllDatabasesAsync();
        }
    }

    private static async Task<Run> RedisBenchmarkAsync(PrivateRedis server, ConnectionMultiplexer admin, Settings settings, string payload)
    {
        var before = await Snapshot.TakeAsync(server, admin, reset: true);
        var info = new ProcessStartInfo("redis-benchmark")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "-h", "127.0.0.1", "-p", server.Port.ToString(CultureInfo.InvariantCulture), "-n", settings.Events.ToString(CultureInfo.InvariantCulture),
            "-P", settings.Pipeline.ToString(CultureInfo.InvariantCulture), "-c", settings.Clients.ToString(CultureInfo.InvariantCulture), "-q",
            "XADD", "rb:" + Guid.NewGuid().ToString("N")[..8], "*", "event", payload,
        })
        {
            info.ArgumentList.Add(arg);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("redis-benchmark did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var wall = clock.Elapsed.TotalSeconds;
        var after = await Snapshot.TakeAsync(server, admin, reset: false);
        var text = await stdout;
        var matches = Regex.Matches(text, @"([0-9]+(?:\.[0-9]+)?) requests per second");
        await server.Admin(admin).FlushAllDatabasesAsync();
        if (process.ExitCode != 0 || matches.Count == 0)
        {
            return new Run(wall, 0, null, after.ServerCpu - before.ServerCpu, 0, after.Commands, false, $"FAIL: redis-benchmark exit {process.ExitCode}: {text} {await stderr}");
        }

        var rate = double.Parse(matches[^1].Groups[1].Value, CultureInfo.InvariantCulture);
        return new Run(settings.Events / rate, rate, null, after.ServerCpu - before.ServerCpu, 0, after.Commands, true, Invariant($"OK: `{text.Split('\r', '\n').Last(l => l.Contains("requests per second", StringComparison.Ordinal)).Replace(payload, "<payload>", StringComparison.Ordinal).Trim()}` (process wall {wall * 1000:N0} ms)"));
    }

    private static long WindowStart(long ts) => ts - (((ts % 60_000) + 60_000) % 60_000);

    public static UrlTiming[] CreateEvents(int count, int keys, bool uniform, int seed)
    {
        var random = new Random(seed);
        var urls = Enumerable.Range(0, keys).Select(k => Invariant($"/page/{k}")).ToArray();
        var distribution = new KeyDistribution(keys, ZipfExponent, uniform);
        var events = new UrlTiming[count];
        for (var i = 0; i < count; i++)
        {
            var key = distribution.Next(random);
            events[i] = new UrlTiming(urls[key], StartMs + (i * 60_000L / EventsPerMinute), Math.Round(random.NextDouble() * 500, 1));
        }

        return events;
    }

    private static async Task<ConnectionMultiplexer> ConnectAsync(string endpoint) =>
        await ConnectionMultiplexer.ConnectAsync($"{endpoint},abortConnect=true,connectTimeout=2000,syncTimeout=15000,asyncTimeout=15000,allowAdmin=true");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private enum Kind
    {
        RedisBenchmark,
        Baseline,
        LuaWorker,
        Partitioned,
        PartitionedDrain,
    }

    private sealed record Configuration(string Name, Kind Kind, int Workers, int BatchSize, int Events);

    private sealed record CommandStat(string Command, long Calls, long Usec);

    private sealed record Run(double Seconds, double EventsPerSecond, double? ProducerDoneSeconds, double ServerCpuSeconds, double ClientCpuSeconds, IReadOnlyList<CommandStat> Commands, bool Ok, string Check)
    {
        public int Round { get; set; }

        public string Load { get; set; } = "";

        public IReadOnlyList<CommandStat> CommandStats => Commands;
    }

    private sealed class Expected
    {
        public Dictionary<(string Url, long Start), (long Count, double Sum)> Windows { get; } = [];

        public static Expected Of(UrlTiming[] events)
        {
            var expected = new Expected();
            var sums = new Dictionary<(string, long), (long, decimal)>();
            foreach (var e in events)
            {
                var key = (e.Url, WindowStart(e.Ts));
                sums.TryGetValue(key, out var s);
                sums[key] = (s.Item1 + 1, s.Item2 + (decimal)e.Ms);
            }

            foreach (var (key, (count, sum)) in sums)
            {
                expected.Windows[key] = (count, (double)sum);
            }

            return expected;
        }
    }

    private sealed record Snapshot(double ServerCpu, double ClientCpu, IReadOnlyList<CommandStat> Commands)
    {
        public static async Task<Snapshot> TakeAsync(PrivateRedis server, ConnectionMultiplexer admin, bool reset)
        {
            var redis = server.Admin(admin);
            if (reset)
            {
                await redis.ConfigResetStatisticsAsync();
            }

            var cpu = Fields(await redis.InfoRawAsync("cpu"));
            var commands = new List<CommandStat>();
            if (!reset)
            {
                foreach (var (name, value) in Fields(await redis.InfoRawAsync("commandstats")))
                {
                    var parts = value.Split(',').Select(p => p.Split('=')).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
                    commands.Add(new CommandStat(name.Replace("cmdstat_", "", StringComparison.Ordinal), long.Parse(parts["calls"], CultureInfo.InvariantCulture), long.Parse(parts["usec"], CultureInfo.InvariantCulture)));
                }
            }

            using var self = Process.GetCurrentProcess();
            return new Snapshot(
                double.Parse(cpu["used_cpu_user"], CultureInfo.InvariantCulture) + double.Parse(cpu["used_cpu_sys"], CultureInfo.InvariantCulture),
                self.TotalProcessorTime.TotalSeconds,
                commands);
        }

        private static Dictionary<string, string> Fields(string? info) =>
            (info ?? string.Empty).Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Where(l => !l.StartsWith('#') && l.Contains(':', StringComparison.Ordinal))
                .ToDictionary(l => l[..l.IndexOf(':', StringComparison.Ordinal)], l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..]);
    }

    private sealed class Settings
    {
        public int Events { get; private set; } = 200_000;

        public int BaselineEvents { get; private set; } = 20_000;

        public int Repetitions { get; private set; } = 5;

        public int[] BatchSizes { get; private set; } = [500];

        public int Keys { get; private set; } = 1_000;

        public bool Uniform { get; private set; }

        public bool Aof { get; private set; }

        public bool Profile { get; private set; } = true;

        public int Pipeline { get; private set; } = 16;

        public int Clients { get; private set; } = 50;

        public string[] Arguments { get; private set; } = [];

        public static Settings Parse(string[] args)
        {
            var s = new Settings { Arguments = args };
            var a = new BenchmarkArguments(args, "redis [--events 200000] [--baseline-events 20000] [--runs 5] [--batch-sizes 500[,1000,...]] [--keys 1000] [--uniform] [--aof] [--no-profile] [--pipeline 16] [--clients 50]");
            while (a.Next(out var name))
            {
                switch (name)
                {
                    case "--events": s.Events = a.Count(); break;
                    case "--baseline-events": s.BaselineEvents = a.Count(); break;
                    case "--runs": s.Repetitions = a.Count(); break;
                    case "--keys": s.Keys = a.Count(); break;
                    case "--pipeline": s.Pipeline = a.Count(); break;
                    case "--clients": s.Clients = a.Count(); break;
                    case "--uniform": s.Uniform = true; break;
                    case "--aof": s.Aof = true; break;
                    case "--no-profile": s.Profile = false; break;
                    case "--batch-sizes":
                        s.BatchSizes = a.Value().Split(',').Select(b => int.TryParse(b, CultureInfo.InvariantCulture, out var v) && v is >= 1 and <= 10_000 ? v : throw new FormatException($"--batch-sizes: 1..10000 each, not '{b}'")).ToArray();
                        break;
                    default: throw a.Unknown();
                }
            }

            return s;
        }
    }

    /// <summary>
    /// One run of a Redis case: the load average at its start, its log (written to the console too), a private
    /// redis-server and an admin connection to it; disposed in that order's reverse.
    /// </summary>
    private sealed class Session : IAsyncDisposable
    {
        private Session(string loadAtStart, StringWriter log, TextWriter output, PrivateRedis server, ConnectionMultiplexer admin) =>
            (LoadAtStart, Log, Output, Server, Admin) = (loadAtStart, log, output, server, admin);

        public string LoadAtStart { get; }

        public StringWriter Log { get; }

        public TextWriter Output { get; }

        public PrivateRedis Server { get; }

        public ConnectionMultiplexer Admin { get; }

        public static async Task<Session> StartAsync(bool aof)
        {
            var loadAtStart = Machine.LoadAverage();
            var log = new StringWriter(CultureInfo.InvariantCulture);
            var output = new TeeWriter(Console.Out, log);
            var server = await PrivateRedis.StartAsync(aof);
            output.WriteLine(Invariant($"redis-server {server.Version} started: 127.0.0.1:{server.Port}, dir {server.Directory}, {server.Persistence} (pid {server.Pid})"));
            try
            {
                return new Session(loadAtStart, log, output, server, await ConnectAsync(server.Endpoint));
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }

        public void Deconstruct(out string loadAtStart, out StringWriter log, out TextWriter output, out PrivateRedis server, out ConnectionMultiplexer admin) =>
            (loadAtStart, log, output, server, admin) = (LoadAtStart, Log, Output, Server, Admin);

        public async ValueTask DisposeAsync()
        {
            await Admin.DisposeAsync();
            await Server.DisposeAsync();
        }
    }

    /// <summary>A redis-server of our own (the tests' <see cref="RedisServer"/> launcher): free loopback port, temporary directory, no RDB snapshots; stopped (by its pid) on dispose.</summary>
    private sealed class PrivateRedis : IAsyncDisposable
    {
        private readonly RedisServer _server;

        private PrivateRedis(RedisServer server, string persistence, string version, int pid)
        {
            _server = server;
            Persistence = persistence;
            Version = version;
            Pid = pid;
        }

        public int Port => _server.Port;

        public string Directory => _server.Directory;

        public string Persistence { get; }

        public string Version { get; }

        public int Pid { get; }

        public string Endpoint => _server.Configuration;

        public IServer Admin(ConnectionMultiplexer admin) => admin.GetServer(Endpoint);

        public static async Task<PrivateRedis> StartAsync(bool aof)
        {
            var persistence = aof ? "--save '' --appendonly yes (appendfsync everysec)" : "--save '' --appendonly no";
            var server = await RedisServer.StartAsync(new RedisServerOptions
            {
                AppendOnly = aof,
                AppendFsync = "everysec",
                ExtraArguments = ["--maxmemory-policy", "noeviction"],
                DirectoryPrefix = "eventstream-redis-bench-",
            });
            try
            {
                await using var probe = await ConnectAsync(server.Configuration);
                var version = probe.GetServer(server.Configuration).Version.ToString();
                return new PrivateRedis(server, persistence, version, server.Pid);
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }

        public ValueTask DisposeAsync() => _server.DisposeAsync();
    }
}
