using EventStream.Redis;
using System.Diagnostics;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace EventStream.Benchmarks;

/// <summary>
/// The partitioned path of issue 10 in the <c>redis</c> benchmark, on the same private redis-server and the same events
/// as the <see cref="Baseline.LuaWindowWorker{T}"/> cases (the retired <c>RedisWindowWorker</c>): a <see cref="PipelineBuilder"/> pipeline
/// (tumbling 1-minute <see cref="Aggregates.Sum{T}"/> of <see cref="UrlTiming.Ms"/> keyed by <see cref="UrlTiming.Url"/>,
/// then a sink counting the results) built with <see cref="RedisPartitionedPipeline.BuildPartitioned{TIn, TOut}"/>.
/// <list type="bullet">
/// <item>1 or 2 workers (one <see cref="ConnectionMultiplexer"/> each) started first and left to settle (every partition
/// held, each worker holding some: the rendezvous share), then the producer publishes with the clock running.</item>
/// <item>1 worker draining a stream filled beforehand: the clock runs from the worker's start.</item>
/// </list>
/// The clock stops when <see cref="RedisPartitionedPipeline.ReadMetricsAsync"/> (polled every <see cref="PollMs"/> ms on
/// another connection) shows every event committed (<c>Read</c> = the event count).
/// </summary>
public static partial class RedisBenchmark
{
    public const int PartitionCount = 16;
    public const double TargetPartitionedVsWindowWorker = 2.0;
    public const double TargetDrainVsXadd = 0.40;

    private static readonly TimeSpan PartitionCommitInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan PartitionLease = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FinisherIdle = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan DrainIdle = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan PartitionedTimeout = TimeSpan.FromSeconds(120);

    /// <summary>One worker of the benchmark's partitioned computation: the pipeline every worker of it runs.</summary>
    private static RedisPartitionedWorker<UrlTiming> BuildPartitionedWorker(IConnectionMultiplexer redis, PartitionedOptions options, Action<WindowResult<string, double>> sink, ILogger? logger) =>
        PipelineBuilder.Create<UrlTiming>("bench-partitioned")
            .Window("minute", new WindowOptions<UrlTiming, string>
            {
                Assigner = WindowAssigner.Tumbling(Window),
                Key = e => e.Url,
                Timestamp = e => e.Ts,
            }, Aggregates.Sum<UrlTiming>(e => e.Ms))
            .Sink("results", sink)
            .BuildPartitioned(redis, options, logger);

    private static string PartitionedSetup() => Invariant($"""
        EventStream partitioned (issue 10): `PipelineBuilder.Create<UrlTiming>(…).Window(tumbling 1 min, Key Url, Timestamp Ts, OutOfOrderness 0, Aggregates.Sum(Ms)).Sink(count).BuildPartitioned(connection, PartitionedOptions {"{"} Partitions = {PartitionCount}, CommitInterval = {PartitionCommitInterval.TotalMilliseconds:0} ms, Lease = {PartitionLease.TotalSeconds:0} s, ReadCount 1000 (default) {"}"})`, each worker on its own `ConnectionMultiplexer`, fresh stream and group per run, the same events and the same producer (`RedisStreamProducer<UrlTiming>.PublishAsync`, batches of {ProducerBatch:N0}, field `event` = JSON). *1 and 2 workers*: the workers are started first and, outside the clock, left to settle until each holds exactly its rendezvous share of the {PartitionCount} partitions (computed here with the library's rule from the worker names; the split varies with the names, logged per run). Workers started together may each see only themselves at first and take the other's partitions; those are handed over at the holder's next rebalance (every lease/3) and taken at the receiver's next one, so settling takes up to ~2 × lease/3. Then the clock runs from the first publish (producer concurrent). *Draining*: all events are published first (not timed), then one worker (`ExitWhenIdle` {DrainIdle.TotalMilliseconds:0} ms) starts with the clock: start-up (definition, {PartitionCount} leases and empty restores) is inside it. Clock stop: `RedisPartitionedPipeline.ReadMetricsAsync(...).Read` (polled every {PollMs} ms on a separate connection) = the event count: every event's effect committed with its partition's position (so the commit interval, ≤ {PartitionCommitInterval.TotalMilliseconds:0} ms, is inside the clock).
          Check (after the clock): 1 and 2 workers are cancelled (a stop commits, hands over, fires nothing) and one more worker with `ExitWhenIdle` {FinisherIdle.TotalMilliseconds:0} ms takes every partition over, fires the remaining windows once and exits; the draining worker exits by its own `ExitWhenIdle`. Then `RedisPartitionedPipeline.ReadResultsAsync` must hold exactly the in-memory (url, minute) windows, each once, firing number 1, with equal counts and sums (1e-9 relative); the metrics must show Read = Windowed = the event count, Late = DeadLettered = 0, Results = the window count, every partition final; and the sinks must have got every window at least once.
        """);

    private static async Task<Run> PartitionedAsync(PrivateRedis server, ConnectionMultiplexer admin, UrlTiming[] events, int workerCount, bool drain, Expected? expected, TextWriter output)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        PartitionedOptions Options(string consumer, TimeSpan? exitWhenIdle) => new()
        {
            Stream = "es-part:" + id,
            Group = "g-" + id,
            Consumer = consumer,
            Partitions = PartitionCount,
            CommitInterval = PartitionCommitInterval,
            Lease = PartitionLease,
            ExitWhenIdle = exitWhenIdle,
        };

        var computation = Options("monitor-" + id, null);
        var chunks = events.Chunk(ProducerBatch).ToArray();
        var producerConnection = await ConnectAsync(server.Endpoint);
        var workerConnections = new ConnectionMultiplexer[workerCount];
        for (var i = 0; i < workerCount; i++)
        {
            workerConnections[i] = await ConnectAsync(server.Endpoint);
        }

        using var stop = new CancellationTokenSource();
        var running = new List<Task<PartitionedRunSummary>>();
        var logs = new List<WorkerLog>();
        WorkerLog Log(string name)
        {
            var log = new WorkerLog(output, name, (level, _) => level >= LogLevel.Warning);
            logs.Add(log);
            return log;
        }

        long sunk = 0;
        void Sink(WindowResult<string, double> result) => Interlocked.Increment(ref sunk);
        try
        {
            var producer = new RedisStreamProducer<UrlTiming>(producerConnection, new RedisStreamOptions { Stream = computation.Stream });
            var consumers = workerConnections.Select((_, i) => Invariant($"bench-{id}-w{i}")).ToArray();
            var workers = workerConnections.Select((c, i) => BuildPartitionedWorker(c, Options(consumers[i], drain ? DrainIdle : null), Sink, Log(Invariant($"w{i}")))).ToArray();
            var setup = Stopwatch.StartNew();
            string prepared;
            Snapshot before;
            Stopwatch clock;
            double? producerDone = null;
            Task producing;
            if (drain)
            {
                foreach (var chunk in chunks)
                {
                    await producer.PublishAsync(chunk);
                }

                prepared = Invariant($"stream filled in {setup.Elapsed.TotalMilliseconds:N0} ms (not timed)");
                before = await Snapshot.TakeAsync(server, admin, reset: true);
                clock = Stopwatch.StartNew();
                running.AddRange(workers.Select(w => Task.Run(() => w.RunAsync(stop.Token))));
                producing = Task.CompletedTask;
            }
            else
            {
                running.AddRange(workers.Select(w => Task.Run(() => w.RunAsync(stop.Token))));
                // Settled = each worker holds exactly its rendezvous share. (All partitions held, each worker holding some, is
                // not enough: workers started together may each see only themselves at first and take partitions that are
                // the other's, handed over at the next rebalance, lease/3 later, and taken at the receiver's next one.)
                var shares = consumers.Select(c => Enumerable.Range(0, PartitionCount).Where(p => RendezvousOwner(p, consumers) == c).ToHashSet()).ToArray();
                while (workers.Select((w, i) => !shares[i].SetEquals(w.OwnedPartitions)).Any(differs => differs))
                {
                    if (running.FirstOrDefault(t => t.IsCompleted) is { } ended)
                    {
                        await ended; // throws the worker's exception
                        throw new InvalidOperationException("A partitioned worker exited before the partitions settled.");
                    }

                    if (setup.Elapsed > PartitionedTimeout)
                    {
                        throw new TimeoutException(Invariant($"The partitions did not settle in {PartitionedTimeout.TotalSeconds:0} s: the workers hold {string.Join(" + ", workers.Select(w => w.OwnedPartitions.Count))} of {PartitionCount}."));
                    }

                    await Task.Delay(PollMs);
                }

                prepared = Invariant($"settled in {setup.Elapsed.TotalMilliseconds:N0} ms (not timed): {string.Join(" + ", workers.Select(w => w.OwnedPartitions.Count))} partitions");
                before = await Snapshot.TakeAsync(server, admin, reset: true);
                clock = Stopwatch.StartNew();
                producing = Task.Run(async () =>
                {
                    foreach (var chunk in chunks)
                    {
                        await producer.PublishAsync(chunk);
                    }

                    producerDone = clock.Elapsed.TotalSeconds;
                });
            }

            var problems = new List<string>();
            PartitionedMetrics metrics;
            while (true)
            {
                metrics = await RedisPartitionedPipeline.ReadMetricsAsync(admin, computation);
                if (metrics.Read >= events.Length)
                {
                    break;
                }

                if (running.FirstOrDefault(t => t.IsCompleted) is { } ended)
                {
                    await ended; // throws the worker's exception
                    problems.Add(Invariant($"a worker exited before every event was committed (Read {metrics.Read:N0} of {events.Length:N0})"));
                    break;
                }

                if (clock.Elapsed > PartitionedTimeout)
                {
                    problems.Add(Invariant($"HANG: Read {metrics.Read:N0} of {events.Length:N0} after {PartitionedTimeout.TotalSeconds:0} s (positions {string.Join(", ", metrics.Partitions.Select(p => p.Position))})"));
                    break;
                }

                await Task.Delay(PollMs);
            }

            var seconds = clock.Elapsed.TotalSeconds;
            var after = await Snapshot.TakeAsync(server, admin, reset: false);
            await producing;
            if (metrics.Read != events.Length)
            {
                problems.Add(Invariant($"Read {metrics.Read:N0} at the clock stop, expected {events.Length:N0}"));
            }

            // Outside the clock: end the timed workers, then (not draining) let a finisher complete the input.
            var summaries = new List<PartitionedRunSummary>();
            if (!drain)
            {
                await stop.CancelAsync();
            }

            var ending = Task.WhenAll(running);
            if (await Task.WhenAny(ending, Task.Delay(PartitionedTimeout)) != ending)
            {
                problems.Add(Invariant($"HANG: {running.Count(t => !t.IsCompleted)} worker(s) still running {PartitionedTimeout.TotalSeconds:0} s after {(drain ? "the input was drained (ExitWhenIdle)" : "they were cancelled")}"));
                await stop.CancelAsync();
            }
            else
            {
                summaries.AddRange(await ending);
            }

            if (!drain && problems.Count == 0)
            {
                await using var finisherConnection = await ConnectAsync(server.Endpoint);
                var finisher = BuildPartitionedWorker(finisherConnection, Options("finisher-" + id, FinisherIdle), Sink, Log("finisher"));
                using var finisherStop = new CancellationTokenSource();
                var finishing = Task.Run(() => finisher.RunAsync(finisherStop.Token));
                if (await Task.WhenAny(finishing, Task.Delay(PartitionedTimeout)) != finishing)
                {
                    problems.Add(Invariant($"HANG: the finisher (ExitWhenIdle {FinisherIdle.TotalMilliseconds:0} ms) had not exited after {PartitionedTimeout.TotalSeconds:0} s"));
                    await finisherStop.CancelAsync();
                    await Task.WhenAny(finishing, Task.Delay(PartitionLease * 2));
                }
                else
                {
                    summaries.Add(await finishing);
                }
            }

            var check = "warm-up";
            var ok = problems.Count == 0;
            if (expected is not null || !ok)
            {
                var committed = await RedisPartitionedPipeline.ReadMetricsAsync(admin, computation);
                if (expected is not null && problems.Count == 0)
                {
                    await CheckPartitionedAsync(admin, computation, committed, events.Length, expected, Interlocked.Read(ref sunk), problems);
                }

                ok = problems.Count == 0;
                var work = Invariant($"{prepared}; commits {summaries.Sum(s => s.Commits):N0}, partitions lost {summaries.Sum(s => s.PartitionsLost)}, outages {summaries.Sum(s => s.Outages)}, worker log warnings/errors {logs.Sum(l => l.Problems)}");
                check = ok
                    ? Invariant($"OK: {expected!.Windows.Count:N0} windows committed once, counts and sums equal; Read = Windowed = {committed.Read:N0}, {PartitionCount}/{PartitionCount} final; sinks got {Interlocked.Read(ref sunk):N0}; {work}")
                    : "FAIL: " + string.Join("; ", problems.Take(3)) + "; " + work;
            }

            return new Run(seconds, events.Length / seconds, producerDone, after.ServerCpu - before.ServerCpu, after.ClientCpu - before.ClientCpu, after.Commands, ok, check);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAny(Task.WhenAll(running), Task.Delay(PartitionLease * 2));
            foreach (var c in workerConnections.Append(producerConnection))
            {
                await c.DisposeAsync();
            }

            await server.Admin(admin).FlushAllDatabasesAsync();
        }
    }

    /// <summary>The committed record against the in-memory windows: each once, firing number 1, equal counts and sums.</summary>
    private static async Task CheckPartitionedAsync(ConnectionMultiplexer admin, PartitionedOptions computation, PartitionedMetrics metrics, int count, Expected expected, long sunk, List<string> problems)
    {
        var seen = new Dictionary<(string Url, long Start), (long Count, double Sum)>();
        await foreach (var line in RedisPartitionedPipeline.ReadResultsAsync(admin, computation))
        {
            using var json = JsonDocument.Parse(line);
            var r = json.RootElement;
            var key = r.GetProperty("key").GetString()!;
            var start = r.GetProperty("start").GetInt64();
            var value = r.GetProperty("value");
            var firingNumber = r.GetProperty("firingNumber").GetInt32();
            if (firingNumber != 1 || r.GetProperty("end").GetInt64() != start + (long)Window.TotalMilliseconds || value.ValueKind != JsonValueKind.Number)
            {
                problems.Add($"unexpected result {line}");
            }

            if (!seen.TryAdd((key, start), (r.GetProperty("count").GetInt64(), value.ValueKind == JsonValueKind.Number ? value.GetDouble() : double.NaN)))
            {
                problems.Add($"window ({key}, {start}) committed twice: {line}");
            }
        }

        if (metrics.Read != count || metrics.Windowed != count || metrics.Late != 0 || metrics.DeadLettered != 0 || metrics.Results != expected.Windows.Count || metrics.Partitions.Any(p => !p.Final))
        {
            problems.Add(Invariant($"metrics: read {metrics.Read}, windowed {metrics.Windowed}, late {metrics.Late}, dead-lettered {metrics.DeadLettered}, results {metrics.Results}, final {metrics.Partitions.Count(p => p.Final)}/{metrics.Partitions.Count} (expected {count}, {count}, 0, 0, {expected.Windows.Count}, all)"));
        }

        if (seen.Count != expected.Windows.Count)
        {
            problems.Add(Invariant($"{seen.Count:N0} windows committed, expected {expected.Windows.Count:N0}"));
        }

        foreach (var (window, (c, sum)) in expected.Windows)
        {
            if (!seen.TryGetValue(window, out var got) || got.Count != c || Math.Abs(got.Sum - sum) > 1e-9 * Math.Max(1, Math.Abs(sum)))
            {
                problems.Add($"window {window}: expected count {c} sum {sum}, got {(seen.ContainsKey(window) ? got.ToString() : "nothing")}");
                break;
            }
        }

        if (sunk < expected.Windows.Count)
        {
            problems.Add(Invariant($"the sinks got {sunk:N0} results, fewer than the {expected.Windows.Count:N0} windows committed"));
        }
    }

    /// <summary>The library's assignment rule (docs/scale-out.md): the member with the highest XxHash64 of "member#partition" wins (ties: the ordinally smaller name).</summary>
    private static string RendezvousOwner(int partition, string[] members) =>
        members.Select(m => (Member: m, Score: XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(Invariant($"{m}#{partition}"))))).OrderByDescending(m => m.Score).ThenBy(m => m.Member, StringComparer.Ordinal).First().Member;

    /// <summary>The targets of issue 10: partitioned vs the Lua window worker (<c>RedisWindowWorker</c>'s baseline copy; same worker count, its best batch size) and draining vs XADD.</summary>
    private static bool PartitionedTargets(StringBuilder text, List<Configuration> configurations, Dictionary<Configuration, double> median, Dictionary<Configuration, List<Run>> runs, int pipeline)
    {
        double ServerMicros(Configuration c) => Median(runs[c].Select(r => r.ServerCpuSeconds * 1e6 / c.Events));
        var partitioned = configurations.Where(c => c.Kind is Kind.Partitioned or Kind.PartitionedDrain).ToList();
        if (partitioned.Count == 0)
        {
            return true;
        }

        var ok = true;
        var xadd = configurations.Single(c => c.Kind == Kind.RedisBenchmark);
        text.AppendLine();
        text.AppendLine("## Targets (issue 10: partitioned execution)");
        text.AppendLine();
        text.AppendLine(Invariant($"Ratios of medians in this run. The Lua window worker (`RedisWindowWorker`, its baseline copy) with the same worker count at its best batch size here; redis-benchmark `XADD -P{pipeline}` as configured above. A missed target is NOT MET with its figure."));
        text.AppendLine();
        text.AppendLine("| Target | Configuration | Value | Result |");
        text.AppendLine("|---|---|---:|---|");
        foreach (var c in partitioned)
        {
            if (c.Kind == Kind.Partitioned)
            {
                var peer = configurations.Where(p => p.Kind == Kind.LuaWorker && p.Workers == c.Workers).MaxBy(p => median[p]);
                if (peer is null)
                {
                    continue;
                }

                var ratio = median[c] / median[peer];
                var met = ratio >= TargetPartitionedVsWindowWorker;
                ok &= met;
                text.AppendLine(Invariant($"| ≥ {TargetPartitionedVsWindowWorker:0}× RedisWindowWorker | {c.Name} ({median[c]:N0}/s) vs {peer.Name} ({median[peer]:N0}/s) | {Floor(ratio, 2):0.00}× | {(met ? "MET" : "NOT MET")} |"));
            }
            else
            {
                var ratio = median[c] / median[xadd];
                var met = ratio >= TargetDrainVsXadd;
                ok &= met;
                text.AppendLine(Invariant($"| ≥ {TargetDrainVsXadd:0.00}× redis-benchmark XADD | {c.Name} ({median[c]:N0}/s) vs {xadd.Name} ({median[xadd]:N0}/s) | {Floor(ratio, 2):0.00}× | {(met ? "MET" : "NOT MET")} |"));
            }
        }

        text.AppendLine();
        text.AppendLine("redis-server CPU per event (median over the rounds; `INFO cpu` over the clock):");
        text.AppendLine();
        text.AppendLine("| Configuration | server CPU µs per event | × redis-benchmark XADD's |");
        text.AppendLine("|---|---:|---:|");
        foreach (var c in configurations.Where(c => c.Kind is Kind.RedisBenchmark or Kind.LuaWorker or Kind.Partitioned or Kind.PartitionedDrain))
        {
            text.AppendLine(Invariant($"| {c.Name} | {ServerMicros(c):0.00} | {ServerMicros(c) / ServerMicros(xadd):0.0}× |"));
        }

        return ok;
    }

    /// <summary>Rounds down, so a ratio just under a target is never shown as meeting it.</summary>
    private static double Floor(double value, int digits) => Math.Floor(value * Math.Pow(10, digits)) / Math.Pow(10, digits);
}
