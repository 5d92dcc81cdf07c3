using EventStream.Redis;
using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace EventStream.Benchmarks;

/// <summary>
/// <c>partition-restore</c>: how long a partitioned worker takes to take over a partition holding about 1,000,000
/// window slices (issue 10's target: taken over within the lease + 2 s). On a private redis-server: 1,000 keys, all
/// in partition 0 of 16 (chosen with the library's rule, <c>XxHash64(UTF-8 key) % 16</c>), one event per key per second
/// for 1,000 s, a sliding window of 1,000 s by 1 s summing <see cref="UrlTiming.Ms"/>: each key holds 1,000 slices
/// (and its blocks). A worker fills and commits it and stops (graceful: final commit, leases released); the events are
/// published in steps, each committed before the next (see <c>--fill-at-once</c> for why). Then, each
/// <c>--runs</c> times:
/// <list type="bullet">
/// <item>Hand-over: a fresh worker (same process, its own connection) is started with a stopwatch; the time until its
/// <see cref="RedisPartitionedWorker{T}.OwnedPartitions"/> holds partition 0 (set once the partition's state is restored)
/// and until partition 0's first commit by it (<see cref="PartitionMetrics.LastCommit"/>); then it stops gracefully.</item>
/// <item>Crash: a child process (this program, <c>partition-restore --hold</c>) takes the partition over and commits;
/// it is killed (SIGKILL, by its pid) and a fresh worker is started at once; the time from the kill until the fresh
/// worker holds partition 0 restored, and until its first commit: the lease must run out first.</item>
/// </list>
/// Then a worker with <see cref="PartitionedOptions.ExitWhenIdle"/> straight on the filled partition (its final firing
/// of every open window is one commit: recorded, whether it commits or dies). Last, the windows are fired in steps
/// (one "tick" event of another partition-0 key every 20 s of event time, each committed), a finisher with
/// <see cref="PartitionedOptions.ExitWhenIdle"/> fires the rest, and every committed window of the 1,000 keys (the
/// fill's and the later ones) is compared with the sums computed in memory.
/// </summary>
public static partial class RedisBenchmark
{
    private const int RestoreSeed = 20_261_010;
    private const string HoldArgument = "--hold";
    private const int KeyStep = 100;
    private const int FillStep = 20_000;
    private const int TickSeconds = 20;
    private static readonly TimeSpan RestoreCommitInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RestoreTimeout = TimeSpan.FromSeconds(600);

    public static async Task<int> PartitionRestoreAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == HoldArgument)
        {
            return await HoldAsync(args[1..]);
        }

        RestoreSettings settings;
        try
        {
            settings = RestoreSettings.Parse(args);
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }

        await using var session = await Session.StartAsync(aof: false);
        var (loadAtStart, log, output, server, admin) = session;
        var keys = KeysOfPartitionZero(settings.Keys, settings.Partitions);
        var events = RestoreEvents(keys, settings.Seconds);
        var id = Guid.NewGuid().ToString("N")[..8];
        var stream = "es-restore:" + id;
        var group = "g-" + id;
        PartitionedOptions Options(string consumer, TimeSpan? exitWhenIdle = null) => new()
        {
            Stream = stream,
            Group = group,
            Consumer = consumer,
            Partitions = settings.Partitions,
            CommitInterval = RestoreCommitInterval,
            Lease = settings.Lease,
            ExitWhenIdle = exitWhenIdle,
        };
        var computation = Options("monitor-" + id);
        long sunk = 0;
        void Sink(WindowResult<string, double> result) => Interlocked.Increment(ref sunk);
        var problems = new List<string>();
        output.WriteLine(Invariant($"{keys.Count:N0} keys in partition 0 of {settings.Partitions} (the first '/page/i' with XxHash64 % {settings.Partitions} == 0, up to {keys[^1]}); {events.Length:N0} events: one per key per second for {settings.Seconds:N0} s; sliding {settings.WindowSeconds:N0} s by 1 s"));

        // The fill (not timed): one worker processes and commits the events. In steps, each committed before the next is
        // published (unless --fill-at-once): a key's first slice registers all size/slide window records, so 1,000 new keys
        // in one commit interval make one commit of ~1M state entries, over StackExchange.Redis's 1,048,576 arguments.
        var fill = Stopwatch.StartNew();
        await using var producerConnection = await ConnectAsync(server.Endpoint);
        var producer = new RedisStreamProducer<UrlTiming>(producerConnection, new RedisStreamOptions { Stream = stream });
        await using (var fillConnection = await ConnectAsync(server.Endpoint))
        {
            var filler = BuildRestoreWorker(fillConnection, Options("fill-" + id), settings.WindowSeconds, Sink, RestoreLog(output, "fill"));
            using var stop = new CancellationTokenSource();
            var running = Task.Run(() => filler.RunAsync(stop.Token));
            var steps = settings.FillAtOnce
                ? [events.Length]
                : Enumerable.Range(1, keys.Count / KeyStep).Select(k => k * KeyStep)
                    .Concat(Enumerable.Range(0, ((events.Length - keys.Count) / FillStep) + 1).Select(k => Math.Min(events.Length, keys.Count + ((k + 1) * FillStep))))
                    .Append(events.Length).Distinct().Where(n => n > 0).ToArray();
            var published = 0;
            try
            {
                foreach (var step in steps)
                {
                    foreach (var chunk in events[published..step].Chunk(ProducerBatch))
                    {
                        await producer.PublishAsync(chunk);
                    }

                    published = step;
                    await WaitUntilReadAsync(admin, computation, step, running, fill);
                }
            }
            catch (Exception ex) when (ex is not TimeoutException)
            {
                var read = (await RedisPartitionedPipeline.ReadMetricsAsync(admin, computation)).Read;
                var died = Invariant($"the fill worker died after {fill.Elapsed.TotalMilliseconds:N0} ms ({published:N0} events published{(settings.FillAtOnce ? " at once" : " in steps")}, {read:N0} committed): {ex.GetType().FullName}: {ex.Message}");
                output.WriteLine("FAIL: " + died);
                Directory.CreateDirectory(Paths.ResultsDirectory);
                var failed = Path.Combine(Paths.ResultsDirectory, settings.FillAtOnce ? "partition-restore-fill-at-once.md" : "partition-restore.md");
                await File.WriteAllTextAsync(failed, "# Partitioned execution: restore time of a 1M-slice partition" + Environment.NewLine + Environment.NewLine + Invariant($"`dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- {string.Join(' ', settings.Arguments.Prepend("partition-restore"))}`") + Environment.NewLine + Environment.NewLine + Machine.Describe(loadAtStart) + Environment.NewLine + Environment.NewLine + "FAILED: " + died + Environment.NewLine + Environment.NewLine + "## Log" + Environment.NewLine + Environment.NewLine + "```" + Environment.NewLine + log + ex + Environment.NewLine + "```" + Environment.NewLine);
                Console.WriteLine($"Wrote {failed}");
                return 1;
            }

            var processed = fill.Elapsed.TotalSeconds;
            await stop.CancelAsync();
            var summary = await running;
            output.WriteLine(Invariant($"fill: {steps.Length} steps{(settings.FillAtOnce ? " (at once)" : Invariant($" (the first second {KeyStep} keys at a time, then {FillStep:N0} events at a time, each committed before the next)"))}, all committed at {processed:0.0} s ({events.Length / processed:N0} events/s), stopped at {fill.Elapsed.TotalSeconds:0.0} s; {summary.Commits:N0} commits, {summary.Results:N0} results"));
        }

        var filled = await RedisPartitionedPipeline.ReadMetricsAsync(admin, computation);
        if (filled.Partitions[0].Read != events.Length || filled.Partitions.Skip(1).Any(p => p.Read != 0))
        {
            problems.Add(Invariant($"the events are not all in partition 0 (read per partition: {string.Join(", ", filled.Partitions.Select(p => p.Read))}): the benchmark's hash rule differs from the library's"));
        }

        var state = await StateOfAsync(admin, Invariant($"es:{{{stream}|{group}|p00}}:state"));
        output.WriteLine(Invariant($"partition 0 state: {state.Entries:N0} entries ({state.Slices:N0} groups of slices, {state.Blocks:N0} blocks, {state.Windows:N0} groups of window records: up to 64 a group), {state.Bytes / 1e6:0.0} MB (MEMORY USAGE); {filled.Partitions[0].Results:N0} results committed by the fill; the HSCAN alone ({10_000:N0} a page, counting the kinds, no engine) took {state.ScanSeconds * 1000:N0} ms"));

        var handOvers = new List<RestoreRun>();
        for (var run = 1; run <= settings.Runs; run++)
        {
            var r = await TakeOverAsync(server, admin, computation, Options(Invariant($"restore-{id}-{run}")), settings.WindowSeconds, crash: false, Sink, output);
            r.Round = run;
            handOvers.Add(r);
            output.WriteLine(Invariant($"hand-over {run}: restored (partition 0 owned) at {r.OwnedSeconds * 1000:N0} ms, first commit at {r.CommitSeconds * 1000:N0} ms from RunAsync (load {r.Load}; redis-server CPU {r.ServerCpuSeconds * 1000:N0} ms) {r.Check}"));
            if (!r.Ok)
            {
                problems.Add(Invariant($"hand-over {run}: {r.Check}"));
            }
        }

        var crashes = new List<RestoreRun>();
        for (var run = 1; run <= (settings.Crash ? settings.Runs : 0); run++)
        {
            var r = await TakeOverAsync(server, admin, computation, Options(Invariant($"takeover-{id}-{run}")), settings.WindowSeconds, crash: true, Sink, output);
            r.Round = run;
            crashes.Add(r);
            output.WriteLine(Invariant($"crash {run}: child restored in {r.ChildOwnedMs:N0} ms (a cold process); after its SIGKILL the fresh worker held partition 0 restored at {r.OwnedSeconds * 1000:N0} ms, first commit at {r.CommitSeconds * 1000:N0} ms (load {r.Load}) {r.Check}"));
            if (!r.Ok)
            {
                problems.Add(Invariant($"crash {run}: {r.Check}"));
            }
        }

        // The end of the input, as ExitWhenIdle does it: every open window of the partition fires in one commit.
        string final;
        await using (var finalConnection = await ConnectAsync(server.Endpoint))
        {
            var finalWorker = BuildRestoreWorker(finalConnection, Options("final-" + id, TimeSpan.FromMilliseconds(500)), settings.WindowSeconds, Sink, RestoreLog(output, "final"));
            using var stop = new CancellationTokenSource();
            var clock = Stopwatch.StartNew();
            var finishing = Task.Run(() => finalWorker.RunAsync(stop.Token));
            if (await Task.WhenAny(finishing, Task.Delay(RestoreTimeout)) != finishing)
            {
                await stop.CancelAsync();
                final = Invariant($"HANG: not finished after {RestoreTimeout.TotalSeconds:0} s");
                problems.Add("ExitWhenIdle on the filled partition: " + final);
            }
            else if (finishing.IsFaulted)
            {
                var ex = finishing.Exception!.GetBaseException();
                final = Invariant($"the worker died after {clock.Elapsed.TotalMilliseconds:N0} ms, nothing committed by its final firing: {ex.GetType().FullName}: {ex.Message}");
            }
            else
            {
                var summary = await finishing;
                final = Invariant($"completed in {clock.Elapsed.TotalMilliseconds:N0} ms: {summary.Results:N0} results committed");
            }
        }

        output.WriteLine("ExitWhenIdle on the filled partition (its final firing in one commit): " + final);

        // Then the windows fire in steps instead: one event of another partition-0 key every TickSeconds of event time,
        // each committed before the next, until every window of the 1,000 keys has ended; a finisher (ExitWhenIdle) fires
        // the rest (the tick key's windows). Every committed window of the 1,000 keys against the in-memory sums.
        var tickKey = KeysOfPartitionZero(keys.Count + 1, settings.Partitions)[^1];
        string check;
        await using (var tickConnection = await ConnectAsync(server.Endpoint))
        {
            var ticker = BuildRestoreWorker(tickConnection, Options("ticker-" + id), settings.WindowSeconds, Sink, RestoreLog(output, "ticker"));
            using var stop = new CancellationTokenSource();
            var clock = Stopwatch.StartNew();
            var running = Task.Run(() => ticker.RunAsync(stop.Token));
            var ticks = (settings.WindowSeconds + TickSeconds - 1) / TickSeconds;
            for (var k = 1; k <= ticks; k++)
            {
                await producer.PublishAsync([new UrlTiming(tickKey, StartMs + ((settings.Seconds - 1 + (k * TickSeconds)) * 1000L), 1)]);
                await WaitUntilReadAsync(admin, computation, events.Length + k, running, clock);
            }

            await stop.CancelAsync();
            var summary = await running;
            output.WriteLine(Invariant($"ticks: {ticks} events of {tickKey}, {TickSeconds} s of event time apart, each committed before the next, in {clock.Elapsed.TotalSeconds:0.0} s (the worker took the partitions over first): {summary.Results:N0} results"));
        }

        await using (var finisherConnection = await ConnectAsync(server.Endpoint))
        {
            var finisher = BuildRestoreWorker(finisherConnection, Options("finisher-" + id, TimeSpan.FromMilliseconds(500)), settings.WindowSeconds, Sink, RestoreLog(output, "finisher"));
            using var stop = new CancellationTokenSource();
            var finishing = Task.Run(() => finisher.RunAsync(stop.Token));
            if (await Task.WhenAny(finishing, Task.Delay(RestoreTimeout)) != finishing)
            {
                problems.Add("HANG: the finisher (ExitWhenIdle 500 ms) did not exit");
                await stop.CancelAsync();
                check = "not checked: the finisher hung";
            }
            else
            {
                await finishing;
                check = await CheckSlidingAsync(admin, computation, keys, tickKey, events, settings.WindowSeconds, problems);
            }
        }

        output.WriteLine("check: " + check);
        var text = RestoreReport(settings, server, loadAtStart, keys.Count, events.Length, state, handOvers, crashes, final, check, problems, out var passed);
        Console.WriteLine();
        Console.WriteLine(text);
        Directory.CreateDirectory(Paths.ResultsDirectory);
        var file = Path.Combine(Paths.ResultsDirectory, settings.FillAtOnce ? "partition-restore-fill-at-once.md" : "partition-restore.md");
        await File.WriteAllTextAsync(file, text + Environment.NewLine + "## Log" + Environment.NewLine + Environment.NewLine + "```" + Environment.NewLine + log + "```" + Environment.NewLine);
        Console.WriteLine($"Wrote {file}");
        return problems.Count > 0 ? 1 : passed ? 0 : 2;
    }

    private static RedisPartitionedWorker<UrlTiming> BuildRestoreWorker(IConnectionMultiplexer redis, PartitionedOptions options, int windowSeconds, Action<WindowResult<string, double>> sink, ILogger? logger) =>
        PipelineBuilder.Create<UrlTiming>("bench-restore")
            .Window("sliding", new WindowOptions<UrlTiming, string>
            {
                Assigner = WindowAssigner.Sliding(TimeSpan.FromSeconds(windowSeconds), TimeSpan.FromSeconds(1)),
                Key = e => e.Url,
                Timestamp = e => e.Ts,
            }, Aggregates.Sum<UrlTiming>(e => e.Ms))
            .Sink("results", sink)
            .BuildPartitioned(redis, options, logger);

    /// <summary>Warnings, errors, and the restore of partition 0 (its entry count).</summary>
    private static WorkerLog RestoreLog(TextWriter output, string name) =>
        new(output, name, (level, message) => level >= LogLevel.Warning || message.StartsWith("Took partition 0 ", StringComparison.Ordinal));

    /// <summary>The first <paramref name="count"/> keys <c>/page/i</c> that the library puts in partition 0: XxHash64 of the UTF-8 key modulo the partition count.</summary>
    private static List<string> KeysOfPartitionZero(int count, int partitions)
    {
        var keys = new List<string>(count);
        for (var i = 0; keys.Count < count; i++)
        {
            var key = Invariant($"/page/{i}");
            if (XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(key)) % (ulong)partitions == 0)
            {
                keys.Add(key);
            }
        }

        return keys;
    }

    /// <summary>One event per key per second, in time order: key j at second s is at s·1000 + j·1000/keys ms; Ms seeded uniform 0–500, one decimal.</summary>
    private static UrlTiming[] RestoreEvents(List<string> keys, int seconds)
    {
        var random = new Random(RestoreSeed);
        var events = new UrlTiming[keys.Count * seconds];
        for (var s = 0; s < seconds; s++)
        {
            for (var j = 0; j < keys.Count; j++)
            {
                events[(s * keys.Count) + j] = new UrlTiming(keys[j], StartMs + (s * 1000L) + (j * 1000L / keys.Count), Math.Round(random.NextDouble() * 500, 1));
            }
        }

        return events;
    }

    /// <summary>Until the computation's committed Read reaches <paramref name="count"/>; throws the worker's exception if it ends first.</summary>
    private static async Task WaitUntilReadAsync(ConnectionMultiplexer admin, PartitionedOptions computation, long count, Task<PartitionedRunSummary> running, Stopwatch clock)
    {
        while ((await RedisPartitionedPipeline.ReadMetricsAsync(admin, computation)).Read < count)
        {
            if (running.IsCompleted)
            {
                await running;
                throw new InvalidOperationException(Invariant($"The worker exited before {count:N0} events were committed."));
            }

            if (clock.Elapsed > RestoreTimeout)
            {
                throw new TimeoutException(Invariant($"{count:N0} events not committed in {RestoreTimeout.TotalSeconds:0} s."));
            }

            await Task.Delay(PollMs);
        }
    }

    private static async Task<StateSize> StateOfAsync(ConnectionMultiplexer admin, RedisKey key)
    {
        var db = admin.GetDatabase();
        long slices = 0, blocks = 0, windows = 0, entries = 0;
        var clock = Stopwatch.StartNew();
        await foreach (var entry in db.HashScanAsync(key, pageSize: 10_000))
        {
            entries++;
            switch (((byte[])entry.Name!)[0])
            {
                case (byte)'S': slices++; break;
                case (byte)'B': blocks++; break;
                case (byte)'W': windows++; break;
            }
        }

        var scan = clock.Elapsed.TotalSeconds;
        var bytes = (long?)await db.ExecuteAsync("MEMORY", "USAGE", key) ?? 0;
        return new StateSize(entries, slices, blocks, windows, bytes, scan);
    }

    /// <summary>
    /// One take-over of partition 0 by a fresh worker: after a graceful stop (the partition is free) or after a child
    /// process holding it is killed (the lease must run out). Times from RunAsync (hand-over) or the kill (crash).
    /// </summary>
    private static async Task<RestoreRun> TakeOverAsync(PrivateRedis server, ConnectionMultiplexer admin, PartitionedOptions computation, PartitionedOptions options, int windowSeconds, bool crash, Action<WindowResult<string, double>> sink, TextWriter output)
    {
        double childOwnedMs = 0;
        Process? child = null;
        if (crash)
        {
            (child, childOwnedMs) = await StartHolderAsync(server, options, options.Consumer + "-child", windowSeconds);
        }

        try
        {
            await using var connection = await ConnectAsync(server.Endpoint);
            var log = RestoreLog(output, options.Consumer);
            var worker = BuildRestoreWorker(connection, options, windowSeconds, sink, log);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var load = Machine.LoadAverage().Split(' ')[0];
            var before = await Snapshot.TakeAsync(server, admin, reset: true);
            using var stop = new CancellationTokenSource();
            var clock = Stopwatch.StartNew();
            if (child is not null)
            {
                child.Kill();
                await child.WaitForExitAsync();
            }

            // Read after the kill: the dead owner commits nothing more, so a later LastCommit is the fresh worker's.
            var previous = (await RedisPartitionedPipeline.ReadMetricsAsync(admin, computation)).Partitions[0];

            var running = Task.Run(() => worker.RunAsync(stop.Token));
            double? owned = null;
            double? committed = null;
            string? problem = null;
            var nextPoll = 0L;
            while (committed is null)
            {
                if (owned is null && worker.OwnedPartitions.Contains(0))
                {
                    owned = clock.Elapsed.TotalSeconds;
                }

                if (clock.ElapsedMilliseconds >= nextPoll)
                {
                    nextPoll = clock.ElapsedMilliseconds + PollMs;
                    var p0 = (await RedisPartitionedPipeline.ReadMetricsAsync(admin, computation)).Partitions[0];
                    if (p0.Owner == options.Consumer && p0.LastCommit > previous.LastCommit && p0.Epoch > previous.Epoch)
                    {
                        committed = clock.Elapsed.TotalSeconds;
                        owned ??= committed;
                    }
                }

                if (running.IsCompleted)
                {
                    await running;
                    problem = "the worker exited before its first commit of partition 0";
                    break;
                }

                if (clock.Elapsed > RestoreTimeout)
                {
                    problem = Invariant($"HANG: partition 0 not taken over in {RestoreTimeout.TotalSeconds:0} s");
                    break;
                }

                await Task.Delay(1);
            }

            var after = await Snapshot.TakeAsync(server, admin, reset: false);
            await stop.CancelAsync();
            var summary = await running;
            var all = await RedisPartitionedPipeline.ReadMetricsAsync(admin, computation);
            var metrics = all.Partitions[0];
            if (problem is null && (metrics.Read != previous.Read || metrics.Results != previous.Results + summary.Results || summary.PartitionsLost != 0 || log.Problems != 0))
            {
                problem = Invariant($"partition 0 after the stop: read {metrics.Read} (was {previous.Read}), results {metrics.Results} (was {previous.Results}, this worker {summary.Results}), lost {summary.PartitionsLost}, log warnings/errors {log.Problems}");
            }

            if (problem is null && all.Partitions.Any(p => p.LeaseLive))
            {
                problem = Invariant($"leases still live after the graceful stop, not released: partitions {string.Join(", ", all.Partitions.Where(p => p.LeaseLive).Select(p => $"{p.Partition} (owner {p.Owner})"))}");
            }

            return new RestoreRun(owned ?? double.NaN, committed ?? double.NaN, childOwnedMs, after.ServerCpu - before.ServerCpu, problem is null, problem is null ? Invariant($"OK: epoch {previous.Epoch} → {metrics.Epoch}, read {metrics.Read:N0}, {summary.Commits} commits, outages {summary.Outages}") : "FAIL: " + problem) { Load = load };
        }
        finally
        {
            if (child is { HasExited: false })
            {
                child.Kill();
            }

            child?.Dispose();
        }
    }

    /// <summary>Starts this program as <c>partition-restore --hold</c>: a worker that takes the partitions over and keeps committing until killed. Returns once it holds partition 0, with its own restore time.</summary>
    private static async Task<(Process Child, double OwnedMs)> StartHolderAsync(PrivateRedis server, PartitionedOptions options, string consumer, int windowSeconds)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("No process path to start the holder with.");
        var info = new ProcessStartInfo(self)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
        }

        foreach (var arg in new[]
        {
            "partition-restore", HoldArgument, server.Endpoint, options.Stream, options.Group, consumer,
            options.Partitions.ToString(CultureInfo.InvariantCulture), ((long)options.Lease.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
            windowSeconds.ToString(CultureInfo.InvariantCulture),
        })
        {
            info.ArgumentList.Add(arg);
        }

        var child = Process.Start(info) ?? throw new InvalidOperationException("The holder did not start.");
        try
        {
            var line = await child.StandardOutput.ReadLineAsync().WaitAsync(RestoreTimeout);
            if (line is null || !line.StartsWith("owned ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"The holder said '{line}' instead of 'owned <ms>'.");
            }

            // Let it commit and renew a few times, as a running owner does, before the crash.
            await Task.Delay(RestoreCommitInterval * 4);
            return (child, double.Parse(line["owned ".Length..], CultureInfo.InvariantCulture));
        }
        catch
        {
            child.Kill();
            child.Dispose();
            throw;
        }
    }

    /// <summary>The child's side: take the partitions, say "owned &lt;ms&gt;" once partition 0 is restored, then commit until killed (or until stdin closes).</summary>
    private static async Task<int> HoldAsync(string[] args)
    {
        var (endpoint, stream, group, consumer) = (args[0], args[1], args[2], args[3]);
        var partitions = int.Parse(args[4], CultureInfo.InvariantCulture);
        var lease = TimeSpan.FromMilliseconds(long.Parse(args[5], CultureInfo.InvariantCulture));
        var windowSeconds = int.Parse(args[6], CultureInfo.InvariantCulture);
        await using var connection = await ConnectAsync(endpoint);
        var worker = BuildRestoreWorker(connection, new PartitionedOptions
        {
            Stream = stream,
            Group = group,
            Consumer = consumer,
            Partitions = partitions,
            CommitInterval = RestoreCommitInterval,
            Lease = lease,
        }, windowSeconds, _ => { }, new WorkerLog(Console.Error, consumer, (level, _) => level >= LogLevel.Warning));
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var running = Task.Run(() => worker.RunAsync(stop.Token));
        while (!worker.OwnedPartitions.Contains(0))
        {
            if (running.IsCompleted)
            {
                await running;
                return 1;
            }

            await Task.Delay(1);
        }

        Console.WriteLine(Invariant($"owned {clock.Elapsed.TotalMilliseconds:0}"));
        await Task.WhenAny(Task.Run(Console.In.ReadLine), Task.Delay(TimeSpan.FromMinutes(10)));
        await stop.CancelAsync();
        await running;
        return 0;
    }

    /// <summary>Every committed window against the sums computed in memory: each (key, start) once, firing number 1, equal counts and sums.</summary>
    private static async Task<string> CheckSlidingAsync(ConnectionMultiplexer admin, PartitionedOptions computation, List<string> keys, string tickKey, UrlTiming[] events, int windowSeconds, List<string> problems)
    {
        var seconds = events.Length / keys.Count;
        var index = keys.Select((k, j) => (k, j)).ToDictionary(p => p.k, p => p.j, StringComparer.Ordinal);
        var perKey = seconds + windowSeconds - 1; // window starts from −(size−1) s to (seconds−1) s
        var prefix = new decimal[keys.Count, seconds + 1];
        for (var s = 0; s < seconds; s++)
        {
            for (var j = 0; j < keys.Count; j++)
            {
                prefix[j, s + 1] = prefix[j, s] + (decimal)events[(s * keys.Count) + j].Ms;
            }
        }

        var seen = new int[keys.Count * perKey];
        var mismatches = 0;
        long results = 0;
        string? first = null;
        long ticks = 0;
        await foreach (var line in RedisPartitionedPipeline.ReadResultsAsync(admin, computation))
        {
            using var json = JsonDocument.Parse(line);
            var r = json.RootElement;
            var key = r.GetProperty("key").GetString()!;
            if (key == tickKey)
            {
                ticks++;
                continue;
            }

            results++;
            var j = index[key];
            var w = (int)((r.GetProperty("start").GetInt64() - StartMs) / 1000);
            var lo = Math.Max(0, w);
            var hi = Math.Min(seconds - 1, w + windowSeconds - 1);
            var slot = (j * perKey) + w + windowSeconds - 1;
            var value = r.GetProperty("value");
            var sum = (double)(prefix[j, hi + 1] - prefix[j, lo]);
            if (seen[slot]++ != 0 || r.GetProperty("firingNumber").GetInt32() != 1 || r.GetProperty("count").GetInt64() != hi - lo + 1
                || value.ValueKind != JsonValueKind.Number || Math.Abs(value.GetDouble() - sum) > 1e-9 * Math.Max(1, Math.Abs(sum)))
            {
                mismatches++;
                first ??= Invariant($"{line} (expected count {hi - lo + 1}, sum {sum}, seen {seen[slot]}×)");
            }
        }

        var missing = seen.Count(c => c == 0);
        var check = Invariant($"{results:N0} committed windows of the {keys.Count:N0} keys (expected {seen.Length:N0}: {keys.Count:N0} × {perKey:N0}), {mismatches:N0} wrong or repeated, {missing:N0} missing (and {ticks:N0} of the tick key, not checked)");
        if (mismatches > 0 || missing > 0 || results != seen.Length)
        {
            problems.Add(check + (first is null ? "" : "; first: " + first));
            return "FAIL: " + check + (first is null ? "" : "; first: " + first);
        }

        return "OK: " + check + ": each window once, firing number 1, counts and sums equal to the in-memory ones";
    }

    private static string RestoreReport(RestoreSettings settings, PrivateRedis server, string loadAtStart, int keys, int eventCount, StateSize state, List<RestoreRun> handOvers, List<RestoreRun> crashes, string final, string check, List<string> problems, out bool passed)
    {
        var target = settings.Lease + TimeSpan.FromSeconds(2);
        var text = new StringBuilder();
        text.AppendLine("# Partitioned execution: restore time of a 1M-slice partition");
        text.AppendLine();
        text.AppendLine(Invariant($"`dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- {string.Join(' ', settings.Arguments.Prepend("partition-restore"))}`"));
        text.AppendLine();
        text.AppendLine(Invariant($"{Machine.Describe(loadAtStart)}. Client and redis-server share the machine."));
        text.AppendLine();
        text.AppendLine("## Setup");
        text.AppendLine();
        text.AppendLine(Invariant($"""
            - Server: a private `redis-server` {server.Version} on 127.0.0.1:{server.Port}, `{server.Persistence}`.
            - Pipeline: `PipelineBuilder.Create<UrlTiming>(…).Window(sliding {settings.WindowSeconds:N0} s by 1 s, Key Url, Timestamp Ts, OutOfOrderness 0, Aggregates.Sum(Ms)).Sink(count).BuildPartitioned(…, PartitionedOptions {"{"} Partitions = {settings.Partitions}, CommitInterval = {RestoreCommitInterval.TotalMilliseconds:0} ms, Lease = {settings.Lease.TotalSeconds:0.###} s {"}"})`.
            - Input: {keys:N0} keys, all in partition 0 (the first `/page/i` with `XxHash64.HashToUInt64(UTF-8 key) % {settings.Partitions} == 0`; checked: partition 0's committed Read is every event, the others' 0), one event per key per second for {settings.Seconds:N0} s ({eventCount:N0} events), processed and committed by one worker, which then stops (final commit, leases released). {(settings.FillAtOnce ? "Published at once." : Invariant($"Published in steps, each committed before the next: the first second {KeyStep} keys at a time, then {FillStep:N0} events at a time. (Published at once, `--fill-at-once`, the worker dies: a key's first slice registers all size/slide = {settings.WindowSeconds:N0} window records, so {keys:N0} new keys in one commit interval make a commit of ~{keys * (long)settings.WindowSeconds:N0} state upserts, 2 arguments each, over StackExchange.Redis's 1,048,576 arguments per command.)"))}
            - Partition 0's committed state: **{state.Entries:N0} entries: {state.Slices:N0} groups of slices** (up to 64 consecutive slices of a key each), {state.Blocks:N0} blocks (the engine's block accumulators of long sliding windows), {state.Windows:N0} groups of window records; `MEMORY USAGE` {state.Bytes / 1e6:0.0} MB. The `HSCAN` of it alone ({10_000:N0} a page, into this process, no engine; as the restore pages it) took {state.ScanSeconds * 1000:N0} ms.
            - Hand-over: a fresh worker in this process (its own connection; the process is warm: the fill ran in it), timed from `RunAsync` until `OwnedPartitions` contains 0 (set once the partition is restored: cursor read, state `HSCAN`ned {10_000:N0} a page into a fresh engine, undelivered results checked), polled every 1 ms, and until partition 0's first commit by it (`ReadMetricsAsync`: owner = it, LastCommit later, epoch higher), polled every {PollMs} ms. Then a graceful stop. The other 15 (empty) partitions are taken in the same rebalance, after partition 0.
            - Crash: a child process (`partition-restore --hold`) takes the partitions over (its restore time, a cold process, is logged), commits for {RestoreCommitInterval.TotalMilliseconds * 4:0} ms and is killed (SIGKILL, its pid); a fresh worker in this process is started at once, timed from the kill. The lease ({settings.Lease.TotalSeconds:0.###} s from the dead worker's last commit or renewal) must run out, and its member heartbeat too, before the fresh worker's rebalance (every lease/3) takes the partitions.
            - Issue 10's target: taken over within lease + 2 s = {target.TotalSeconds:0.###} s. For the hand-over the lease plays no part (it was released): its figure is judged against the 2 s.
            - {settings.Runs} runs of each; median, min and max.
            """));
        text.AppendLine();
        text.AppendLine("## Results");
        text.AppendLine();
        text.AppendLine("| Case | Runs | Median: partition 0 restored (owned) | Min | Max | Median: first commit | Min | Max | Target | Result (median restored) |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        passed = true;
        foreach (var (name, runs, limit) in new[] { ("Hand-over after a graceful stop (from RunAsync)", handOvers, TimeSpan.FromSeconds(2)), ("Crash: fresh worker started at the SIGKILL (from the kill)", crashes, target) })
        {
            if (runs.Count == 0)
            {
                continue;
            }

            var owned = Median(runs.Select(r => r.OwnedSeconds));
            var met = owned <= limit.TotalSeconds;
            passed &= met;
            text.AppendLine(Invariant($"| {name} | {runs.Count} | {owned * 1000:N0} ms | {runs.Min(r => r.OwnedSeconds) * 1000:N0} ms | {runs.Max(r => r.OwnedSeconds) * 1000:N0} ms | {Median(runs.Select(r => r.CommitSeconds)) * 1000:N0} ms | {runs.Min(r => r.CommitSeconds) * 1000:N0} ms | {runs.Max(r => r.CommitSeconds) * 1000:N0} ms | ≤ {limit.TotalMilliseconds:N0} ms | {(met ? "MET" : "NOT MET")} |"));
        }

        if (crashes.Count > 0)
        {
            text.AppendLine();
            text.AppendLine(Invariant($"The crash runs' children (cold processes, from their `RunAsync`) restored partition 0 in {string.Join(", ", crashes.Select(r => Invariant($"{r.ChildOwnedMs:N0} ms")))}."));
        }

        text.AppendLine();
        text.AppendLine("## Every run");
        text.AppendLine();
        text.AppendLine("| Case | Run | Load | Restored (owned) | First commit | redis-server CPU | Check |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var (name, runs) in new[] { ("hand-over", handOvers), ("crash", crashes) })
        {
            foreach (var r in runs)
            {
                text.AppendLine(Invariant($"| {name} | {r.Round} | {r.Load} | {r.OwnedSeconds * 1000:N0} ms | {r.CommitSeconds * 1000:N0} ms | {r.ServerCpuSeconds * 1000:N0} ms | {r.Check} |"));
            }
        }

        text.AppendLine();
        text.AppendLine("The end of the input with `ExitWhenIdle` 500 ms straight on the filled partition (every open window fires in one commit): " + final + ".");
        text.AppendLine();
        text.AppendLine(Invariant($"Correctness (after the runs: one event of another partition-0 key every {TickSeconds} s of event time, each committed before the next, until every window of the {keys:N0} keys has ended, then a worker with `ExitWhenIdle` 500 ms fires the rest): ") + check);
        text.AppendLine();
        text.AppendLine(problems.Count == 0 ? "No problems." : "Problems:\n\n" + string.Join("\n", problems.Select(p => "- " + p)));
        return text.ToString();
    }

    private sealed record StateSize(long Entries, long Slices, long Blocks, long Windows, long Bytes, double ScanSeconds);

    private sealed record RestoreRun(double OwnedSeconds, double CommitSeconds, double ChildOwnedMs, double ServerCpuSeconds, bool Ok, string Check)
    {
        public int Round { get; set; }

        public string Load { get; set; } = "";
    }

    private sealed class RestoreSettings
    {
        public int Keys { get; private set; } = 1_000;

        public int Seconds { get; private set; } = 1_000;

        public int WindowSeconds { get; private set; } = 1_000;

        public int Runs { get; private set; } = 3;

        public int Partitions { get; private set; } = 16;

        public TimeSpan Lease { get; private set; } = TimeSpan.FromSeconds(5);

        public bool Crash { get; private set; } = true;

        public bool FillAtOnce { get; private set; }

        public string[] Arguments { get; private set; } = [];

        public static RestoreSettings Parse(string[] args)
        {
            var s = new RestoreSettings { Arguments = args };
            var a = new BenchmarkArguments(args, "partition-restore [--keys 1000] [--seconds 1000] [--window 1000] [--runs 3] [--partitions 16] [--lease 5] [--no-crash] [--fill-at-once]");
            while (a.Next(out var name))
            {
                switch (name)
                {
                    case "--keys": s.Keys = a.Count(); break;
                    case "--seconds": s.Seconds = a.Count(); break;
                    case "--window": s.WindowSeconds = a.Count(); break;
                    case "--runs": s.Runs = a.Count(); break;
                    case "--partitions": s.Partitions = a.Count(); break;
                    case "--lease": s.Lease = TimeSpan.FromSeconds(a.Count()); break;
                    case "--no-crash": s.Crash = false; break;
                    case "--fill-at-once": s.FillAtOnce = true; break;
                    default: throw a.Unknown();
                }
            }

            return s.Keys > 1000 ? throw new FormatException("--keys: at most 1000 (one event per key per millisecond of a second)")
                : s.Keys % KeyStep != 0 ? throw new FormatException($"--keys: a multiple of {KeyStep}")
                : s;
        }
    }
}
