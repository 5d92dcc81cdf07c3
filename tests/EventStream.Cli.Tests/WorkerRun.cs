using EventStream.Redis;
using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace EventStream.Cli.Tests;

/// <summary>
/// What the worker process tests share: a temporary directory, NDJSON inputs, the single-process reference
/// (<c>eventstream window</c> in-process), <c>produce</c> and <c>worker</c> child processes, and the group's results.
/// </summary>
public abstract class WorkerRun : IDisposable
{
    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly string _dir = Directory.CreateTempSubdirectory("eventstream-workers-").FullName;

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>The computation of group "g" on <paramref name="stream"/>, with the test workers' 16 partitions.</summary>
    internal static PartitionedOptions Computation(string stream) => new() { Stream = stream, Group = "g", Partitions = 16 };

    /// <summary>The computation's partitions, as their last commits left them.</summary>
    internal static Task<PartitionedMetrics> Metrics(IConnectionMultiplexer connection, string stream) =>
        RedisPartitionedPipeline.ReadMetricsAsync(connection, Computation(stream));

    /// <summary>The computation's committed results (every partition's results stream).</summary>
    internal static async Task<List<Result>> ResultsStream(IConnectionMultiplexer connection, string stream)
    {
        var results = new List<Result>();
        await foreach (var line in RedisPartitionedPipeline.ReadResultsAsync(connection, Computation(stream)))
        {
            results.Add(Result.Parse(line));
        }

        return results;
    }

    /// <summary>
    /// One result line: {"key","start","end","value","count"} from <c>window</c>; a committed one also has
    /// "firing" and "firingNumber", and on input within the out-of-orderness each window fires once, on time.
    /// </summary>
    internal sealed record Result(string Key, long Start, long End, double Value, long Count)
    {
        public static Result Parse(string line)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            var root = doc.RootElement;
            var names = root.EnumerateObject().Select(p => p.Name).ToList();
            if (names.Count == 7)
            {
                names.Should().Equal("key", "start", "end", "value", "count", "firing", "firingNumber");
                root.GetProperty("firing").GetString().Should().Be("onTime", line);
                root.GetProperty("firingNumber").GetInt32().Should().Be(1, line);
            }
            else
            {
                names.Should().Equal("key", "start", "end", "value", "count");
            }

            return new Result(root.GetProperty("key").GetString()!, root.GetProperty("start").GetInt64(), root.GetProperty("end").GetInt64(), root.GetProperty("value").GetDouble(), root.GetProperty("count").GetInt64());
        }
    }

    internal static async Task ProduceAsync(string configuration, string stream, string input)
    {
        using var produce = CliProcess.Start("produce", "--redis", configuration, "--stream", stream, "--input", input);
        (await produce.WaitAsync(Timeout)).Should().Be(0, produce.Stderr);
        produce.Stderr.Should().Contain("published to");
    }

    /// <summary>
    /// Runs <paramref name="workers"/> worker processes to the end: their output files and how many events each applied.
    /// Given a <paramref name="gate"/> (a <see cref="CutProxy.HoldingFirst"/> proxy in front of Redis, holding the
    /// member query), they connect through it and look for their partitions together, once every one of them has
    /// announced itself: each then takes its share at once.
    /// </summary>
    internal async Task<(List<string> Outputs, List<long> Applied)> RunWorkersAsync(string configuration, string stream, string window, string agg, int workers, CutProxy? gate = null)
    {
        // Held at the gate, a worker's first read waits for the slowest process to start: no timeout meanwhile.
        var through = gate is null ? configuration : gate.Configuration + ",asyncTimeout=120000";
        var processes = Enumerable.Range(0, workers).Select(i => StartWorker(through, stream, window, agg, "w" + i, batch: 100)).ToList();
        try
        {
            if (gate is not null)
            {
                await TestSupport.Eventually(() => gate.Held == workers || processes.Any(p => p.Process.HasExited), "every worker waits at its first read", timeoutMs: 60_000);
                gate.Release();
            }

            foreach (var p in processes)
            {
                (await p.WaitAsync(Timeout)).Should().Be(0, p.Stderr);
            }

            return (
                processes.Select(p => Path.Combine(_dir, ConsumerOf(p) + ".ndjson")).ToList(),
                processes.Select(p => p.Windowed ?? throw new InvalidOperationException($"no summary line from {ConsumerOf(p)}: {p.Stderr}")).ToList());
        }
        finally
        {
            processes.ForEach(p => p.Dispose());
        }
    }

    internal CliProcess StartWorker(string configuration, string stream, string window, string agg, string consumer, int batch, string lease = "2s") =>
        CliProcess.Start(
            "worker", "--redis", configuration, "--stream", stream, "--group", "g", "--consumer", consumer,
            "--window", window, "--key", "data.url", "--agg", agg, "--out-of-orderness", "2s",
            "--output", Path.Combine(_dir, consumer + ".ndjson"), "--exit-when-idle", "1500ms", "--lease", lease,
            "--batch", batch.ToString(CultureInfo.InvariantCulture));

    internal string OutputOf(string consumer) => Path.Combine(_dir, consumer + ".ndjson");

    private static string ConsumerOf(CliProcess p)
    {
        var args = p.Process.StartInfo.ArgumentList;
        return args[args.IndexOf("--consumer") + 1];
    }

    /// <summary>
    /// Results in a fixed order (key, window, value, count), values rounded to 9 decimals (a sum of quarters is exact; an
    /// average may differ in its last bit): two lists compare in one pass, instead of FluentAssertions' pairwise
    /// equivalency, which takes minutes over thousands of results.
    /// </summary>
    internal static List<Result> Sorted(IEnumerable<Result> results) =>
        [.. results.Select(r => r with { Value = Math.Round(r.Value, 9) }).OrderBy(r => r.Key, StringComparer.Ordinal).ThenBy(r => r.Start).ThenBy(r => r.End).ThenBy(r => r.Value).ThenBy(r => r.Count)];

    internal static List<Result> Lines(IEnumerable<string> files) =>
        files.Where(File.Exists).SelectMany(File.ReadAllLines).Where(l => l.Length > 0).Select(Result.Parse).ToList();

    /// <summary>Runs <c>eventstream window</c> in-process on the same input: the single-process truth.</summary>
    internal async Task<(List<Result> Results, int DeadLetters)> ReferenceAsync(string input, string window, string agg)
    {
        var output = Path.Combine(_dir, "reference-" + Guid.NewGuid().ToString("N")[..6] + ".ndjson");
        var dead = output + ".dead";
        var stderr = new StringWriter();
        var code = await EventStream.Cli.Program.RunAsync(
            ["window", "--input", input, "--window", window, "--key", "data.url", "--agg", agg, "--out-of-orderness", "2s", "--output", output, "--late", output + ".late", "--dead-letter", dead],
            TextWriter.Null,
            stderr);
        code.Should().Be(0, stderr.ToString());
        File.ReadAllText(output + ".late").Should().BeEmpty("the input is within the out-of-orderness");
        return (Lines([output]), File.ReadAllLines(dead).Count(l => l.Length > 0));
    }

    /// <summary>NDJSON clickstream: timestamps rise with jitter within 2 s, URLs with ':' and quotes, values in quarters (exact in binary).</summary>
    internal string WriteInput(string name, int events, int badLines, int seed)
    {
        var random = new Random(seed);
        string[] urls = ["/", "/a:b", "/cart", "/p?q=\"1\"", "/x:{y}", "/checkout", "/ü"];
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N")[..6] + "-" + name);
        var builder = new StringBuilder();
        long t = 1_700_000_000_000;
        var bad = new HashSet<int>();
        while (bad.Count < badLines)
        {
            bad.Add(random.Next(events));
        }

        for (var i = 0; i < events; i++)
        {
            t += random.Next(0, 40);
            if (random.Next(200) == 0)
            {
                t += random.Next(3_000, 9_000);
            }

            var ts = t - random.Next(0, 2001);
            var url = System.Text.Json.JsonSerializer.Serialize(urls[random.Next(urls.Length)]);
            var ms = (random.Next(0, 4000) / 4.0).ToString("R", CultureInfo.InvariantCulture);
            builder.Append(CultureInfo.InvariantCulture, $"{{\"id\":\"e{i}\",\"type\":\"pageview\",\"source\":\"web\",\"timestamp\":{ts},\"data\":{{\"url\":{url},\"ms\":{ms},\"user\":\"u{random.Next(300)}\"}}}}\n");
            if (bad.Remove(i))
            {
                builder.Append(random.Next(2) == 0 ? "{\"id\":\"broken\",\"timestamp\":\"yesterday\"}\n" : "not json at all\n");
            }
        }

        File.WriteAllText(path, builder.ToString());
        return path;
    }
}
