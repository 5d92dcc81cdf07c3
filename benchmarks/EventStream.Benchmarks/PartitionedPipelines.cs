using EventStream;
using EventStream.Redis;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using StackExchange.Redis;

namespace EventStream.Benchmarks;

/// <summary>A page view of the <c>partitioned-pipelines</c> case: site, visitor, event time and load time.</summary>
public sealed record Visit(string Site, string User, long Ts, double LoadMs);

/// <summary>The user-defined accumulator of the <c>partitioned-pipelines</c> case (stored through System.Text.Json).</summary>
public sealed record LoadStats(long Count, double Total, double Slowest);

/// <summary>
/// <c>partitioned-pipelines</c>: what the window's aggregate costs on the partitioned path. One worker drains a stream
/// filled beforehand (as the <c>redis</c> case's draining run) through three pipelines, in the same round on the same
/// private redis-server: the reference (tumbling 1 minute, <see cref="Aggregates.Sum{T}"/>), the dashboard's users online
/// (sliding 5 minutes by 1 second, <see cref="Aggregates.DistinctCount{T, TValue}"/> of the visitor: 300 slices per
/// window, a distinct counter per slice), and a user-defined aggregate (tumbling 1 minute, a record accumulator stored as
/// JSON). Each run's committed results are compared with the same pipeline run in memory.
/// </summary>
public static partial class RedisBenchmark
{
    private const int VisitSites = 100;
    private const int VisitUsers = 20_000;

    private enum Shape
    {
        Sum,
        UsersOnline,
        UserDefined,
    }

    public static async Task<int> PartitionedPipelinesAsync(string[] args)
    {
        var events = 200_000;
        var runs = 3;
        try
        {
            var a = new BenchmarkArguments(args, "partitioned-pipelines [--events 200000] [--runs 3]");
            while (a.Next(out var name))
            {
                switch (name)
                {
                    case "--events": events = a.Count(); break;
                    case "--runs": runs = a.Count(); break;
                    default: throw a.Unknown();
                }
            }
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }

        await using var session = await Session.StartAsync(aof: false);
        var (loadAtStart, log, output, server, admin) = session;
        var visits = Visits(events, seed: 20_261_201);
        var shapes = Enum.GetValues<Shape>();
        var expected = new Dictionary<Shape, List<string>>();
        foreach (var shape in shapes)
        {
            expected[shape] = await InMemoryAsync(shape, visits);
            output.WriteLine(Invariant($"{Describe(shape)}: {expected[shape].Count:N0} windows in memory"));
        }

        var results = shapes.ToDictionary(s => s, _ => new List<(double Rate, double ServerMicros, long Entries, bool Ok, string Check)>());
        for (var round = 0; round <= runs; round++)
        {
            foreach (var shape in shapes)
            {
                var run = await DrainAsync(server, admin, shape, visits, expected[shape]);
                output.WriteLine(Invariant($"round {round}{(round == 0 ? " (warm-up)" : string.Empty)}, {Describe(shape)}: {run.Rate:N0} events/s, redis-server {run.ServerMicros:0.00} µs/event, {run.Entries:N0} state entries at the end of the input; {run.Check}"));
                if (round > 0)
                {
                    results[shape].Add(run);
                }
            }
        }

        var text = new StringBuilder();
        text.AppendLine("# Partitioned execution: the aggregate's cost");
        text.AppendLine();
        text.AppendLine(Invariant($"`dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- partitioned-pipelines{(args.Length > 0 ? " " + string.Join(' ', args) : string.Empty)}`"));
        text.AppendLine();
        text.AppendLine(Machine.Describe(loadAtStart) + ". Client and redis-server share the machine.");
        text.AppendLine();
        text.AppendLine(Invariant($"One worker (`BuildPartitioned`, {PartitionCount} partitions, commit every {PartitionCommitInterval.TotalMilliseconds:0} ms, `ExitWhenIdle` {DrainIdle.TotalMilliseconds:0} ms) drains a stream filled beforehand with {events:N0} page views ({VisitSites} sites, Zipf; {VisitUsers:N0} visitors, uniform; 3 ms of event time apart, so 10 minutes for 200,000), keyed by site. The clock runs from the worker's start until every event is committed (`ReadMetricsAsync(...).Read`). Then the worker fires the remaining windows and exits, and its committed results must equal the same pipeline run in memory (every window, firing and value). A warm-up round, then {runs} rounds; in each round the three pipelines run one after another on the same server."));
        text.AppendLine();
        text.AppendLine("| Pipeline | Events/s (median) | Min | Max | × the tumbling sum (medians) | redis-server µs/event | State entries at the end of the input | Check |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        var reference = Median(results[Shape.Sum].Select(r => r.Rate));
        foreach (var shape in shapes)
        {
            var r = results[shape];
            var median = Median(r.Select(x => x.Rate));
            text.AppendLine(Invariant($"| {Describe(shape)} | {median:N0} | {r.Min(x => x.Rate):N0} | {r.Max(x => x.Rate):N0} | {median / reference:0.00}× | {Median(r.Select(x => x.ServerMicros)):0.00} | {r[^1].Entries:N0} | {(r.All(x => x.Ok) ? "OK, every run" : "FAIL: " + r.First(x => !x.Ok).Check)} |"));
        }

        text.AppendLine();
        text.AppendLine("## Log");
        text.AppendLine();
        text.AppendLine("```");
        text.Append(log);
        text.AppendLine("```");
        Directory.CreateDirectory(Paths.ResultsDirectory);
        var file = Path.Combine(Paths.ResultsDirectory, "partitioned-pipelines.md");
        await File.WriteAllTextAsync(file, text.ToString());
        Console.WriteLine($"Wrote {file}");
        return results.Values.All(r => r.All(x => x.Ok)) ? 0 : 2;
    }

    private static string Describe(Shape shape) => shape switch
    {
        Shape.Sum => "tumbling 1 min, sum of load times",
        Shape.UsersOnline => "sliding 5 min by 1 s, distinct visitors (users online)",
        _ => "tumbling 1 min, user-defined aggregate (record accumulator as JSON)",
    };

    /// <summary>The pipeline of <paramref name="shape"/>, up to its sink; its results as JSON, as the partitioned path commits them.</summary>
    private static PipelineBuilder<Visit, string> Pipeline(Shape shape, Action<string> sink)
    {
        var json = VisitResultJson;
        var start = PipelineBuilder.Create<Visit>("visits-" + shape.ToString().ToLowerInvariant());
        WindowOptions<Visit, string> Window(WindowAssigner assigner) => new() { Assigner = assigner, Key = v => v.Site, Timestamp = v => v.Ts };
        return shape switch
        {
            Shape.Sum => start.Window("w", Window(WindowAssigner.Tumbling(TimeSpan.FromMinutes(1))), Aggregates.Sum<Visit>(v => v.LoadMs)).Transform("json", r => JsonSerializer.Serialize(r, json)).Sink("out", sink),
            Shape.UsersOnline => start.Window("w", Window(WindowAssigner.Sliding(TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(1))), Aggregates.DistinctCount<Visit, string>(v => v.User)).Transform("json", r => JsonSerializer.Serialize(r, json)).Sink("out", sink),
            _ => start.Window("w", Window(WindowAssigner.Tumbling(TimeSpan.FromMinutes(1))), Aggregates.Create<Visit, LoadStats, LoadStats>(
                    () => new LoadStats(0, 0, 0),
                    (s, v) => new LoadStats(s.Count + 1, s.Total + v.LoadMs, Math.Max(s.Slowest, v.LoadMs)),
                    (a, b) => new LoadStats(a.Count + b.Count, a.Total + b.Total, Math.Max(a.Slowest, b.Slowest)),
                    s => s)).Transform("json", r => JsonSerializer.Serialize(r, json)).Sink("out", sink),
        };
    }

    /// <summary>The JSON the partitioned path commits results in: web defaults, firings as camelCase names.</summary>
    private static readonly JsonSerializerOptions VisitResultJson = new(JsonSerializerOptions.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static async Task<List<string>> InMemoryAsync(Shape shape, Visit[] visits)
    {
        var results = new List<string>();
        await using var pipeline = Pipeline(shape, r => { lock (results) { results.Add(r); } }).Build();
        await pipeline.WriteBatchAsync(visits);
        await pipeline.CompleteAsync();
        results.Sort(StringComparer.Ordinal);
        return results;
    }

    private static async Task<(double Rate, double ServerMicros, long Entries, bool Ok, string Check)> DrainAsync(PrivateRedis server, ConnectionMultiplexer admin, Shape shape, Visit[] visits, List<string> expected)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var options = new PartitionedOptions
        {
            Stream = "es-visits:" + id,
            Group = "g-" + id,
            Consumer = "w",
            Partitions = PartitionCount,
            CommitInterval = PartitionCommitInterval,
            Lease = PartitionLease,
            ExitWhenIdle = DrainIdle,
        };
        try
        {
            var producer = new RedisStreamProducer<Visit>(admin, new RedisStreamOptions { Stream = options.Stream });
            foreach (var chunk in visits.Chunk(ProducerBatch))
            {
                await producer.PublishAsync(chunk);
            }

            await using var connection = await ConnectAsync(server.Endpoint);
            var worker = Pipeline(shape, _ => { }).BuildPartitioned(connection, options);
            var before = await Snapshot.TakeAsync(server, admin, reset: true);
            var clock = Stopwatch.StartNew();
            using var stop = new CancellationTokenSource(PartitionedTimeout);
            var running = Task.Run(() => worker.RunAsync(stop.Token));
            while ((await RedisPartitionedPipeline.ReadMetricsAsync(admin, options)).Read < visits.Length && !running.IsCompleted)
            {
                await Task.Delay(PollMs);
            }

            var seconds = clock.Elapsed.TotalSeconds;
            var after = await Snapshot.TakeAsync(server, admin, reset: false);
            var db = admin.GetDatabase();
            long entries = 0;
            for (var p = 0; p < PartitionCount; p++)
            {
                entries += await db.HashLengthAsync(Invariant($"{options.KeyPrefix}:{{{options.Stream}|{options.Group}|p{p:D2}}}:state")); // the library's layout
            }

            await running;
            var committed = new List<string>();
            await foreach (var line in RedisPartitionedPipeline.ReadResultsAsync(admin, options))
            {
                committed.Add(line);
            }

            committed.Sort(StringComparer.Ordinal);
            var metrics = await RedisPartitionedPipeline.ReadMetricsAsync(admin, options);
            var check = metrics.Read != visits.Length || metrics.Windowed != visits.Length
                ? Invariant($"FAIL: read {metrics.Read:N0}, windowed {metrics.Windowed:N0} of {visits.Length:N0}")
                : committed.SequenceEqual(expected, StringComparer.Ordinal)
                    ? Invariant($"OK: {committed.Count:N0} windows equal to the in-memory run, read = windowed = {metrics.Read:N0}")
                    : Invariant($"FAIL: {committed.Count:N0} windows committed, {expected.Count:N0} in memory; first difference {committed.Except(expected).Concat(expected.Except(committed)).FirstOrDefault()}");
            return (visits.Length / seconds, (after.ServerCpu - before.ServerCpu) * 1e6 / visits.Length, entries, check.StartsWith("OK", StringComparison.Ordinal), check);
        }
        finally
        {
            await server.Admin(admin).FlushAllDatabasesAsync();
        }
    }

    private static Visit[] Visits(int count, int seed)
    {
        var random = new Random(seed);
        var sites = new KeyDistribution(VisitSites, ZipfExponent);
        var visits = new Visit[count];
        for (var i = 0; i < count; i++)
        {
            var site = sites.Next(random);
            visits[i] = new Visit(Invariant($"site-{site}.example"), Invariant($"u{random.Next(VisitUsers)}"), StartMs + (i * 3L), Math.Round(random.NextDouble() * 2_000, 1));
        }

        return visits;
    }
}
