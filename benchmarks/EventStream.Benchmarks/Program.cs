using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using EventStream.Benchmarks;

// dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- throughput [BenchmarkDotNet args]
// dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- retry [events] [repetitions]
// dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- verify
return args.FirstOrDefault() switch
{
    "throughput" => Throughput(args[1..]),
    "retry" => await RetryAsync(args[1..]),
    "verify" => await VerifyAsync(500_000) ? 0 : 1,
    _ => Usage(),
};

static int Usage()
{
    Console.WriteLine("""
        EventStream benchmarks. Run from the repository root:

          dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- throughput [BenchmarkDotNet args]
              EventStream vs TPL Dataflow (baseline), System.Reactive and a hand-written fused loop over 5M events
              (BenchmarkDotNet, MemoryDiagnoser), then the ratios. Artifacts: benchmarks/EventStream.Benchmarks/
              BenchmarkDotNet.Artifacts; the github-markdown report and the ratios are copied to benchmarks/results/.

          dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- retry [events=5000000] [repetitions=5] [work-us=0]
              10 % of events fail their first two enrich attempts (100 ms back-off): rate of the events that do not
              fail vs a failure-free run, and the correctness checks. Writes benchmarks/results/retry-results.md.

          dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- verify
              Runs every variant once on 500k events and checks they count the same.
        """);
    return 1;
}

static int Throughput(string[] benchmarkArgs)
{
    if (!VerifyAsync(500_000).GetAwaiter().GetResult())
    {
        return 1;
    }

    var loadAtStart = Machine.LoadAverage();
    var artifacts = Path.Combine(Paths.ProjectDirectory, "BenchmarkDotNet.Artifacts");
    var summary = BenchmarkRunner.Run<ThroughputBenchmarks>(ThroughputBenchmarks.CreateConfig(artifacts), benchmarkArgs);
    var text = new StringBuilder();
    text.AppendLine(CultureInfo.InvariantCulture, $"# Throughput ratios ({ThroughputBenchmarks.EventCount:N0} events, medians)");
    text.AppendLine();
    text.AppendLine(CultureInfo.InvariantCulture, $"{Machine.Describe(loadAtStart)}. Full report: the `*-report-github.md` next to this file.");
    var passed = true;
    foreach (var weight in Enum.GetValues<WorkloadWeight>())
    {
        var rates = new Dictionary<string, (double EventsPerSecond, double BytesPerEvent)>();
        foreach (var report in summary.Reports)
        {
            if (report.ResultStatistics is { } stats && Equals(report.BenchmarkCase.Parameters["Weight"], weight))
            {
                var bytes = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? 0;
                rates[report.BenchmarkCase.Descriptor.WorkloadMethod.Name] =
                    (ThroughputBenchmarks.EventCount / (stats.Median / 1e9), bytes / (double)ThroughputBenchmarks.EventCount);
            }
        }

        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"## Workload weight: {weight}");
        text.AppendLine();
        text.AppendLine("| Variant | Events/s (median) | Allocated B/event |");
        text.AppendLine("|---|---:|---:|");
        foreach (var (name, (perSecond, bytesPerEvent)) in rates)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {perSecond:N0} | {bytesPerEvent:0.000} |");
        }

        text.AppendLine();
        text.AppendLine("| Ratio | Value | Target | Result |");
        text.AppendLine("|---|---:|---:|---|");
        foreach (var (variant, label, counts) in new[]
        {
        (nameof(ThroughputBenchmarks.EventStream), "EventStream (defaults)", true),
        (nameof(ThroughputBenchmarks.EventStreamTwoSegments), "EventStream, sink on its own worker", false),
    })
        {
            if (!rates.TryGetValue(variant, out var eventStream))
            {
                continue;
            }

            Ratio($"{label} / TPL Dataflow", nameof(ThroughputBenchmarks.TplDataflow), 10.0);
            Ratio($"{label} / System.Reactive", nameof(ThroughputBenchmarks.SystemReactive), 1.0);
            Ratio($"{label} / fused loop", nameof(ThroughputBenchmarks.FusedLoop), 0.30);
            var allocationOk = eventStream.BytesPerEvent < 1.0;
            passed &= allocationOk || !counts;
            text.AppendLine(CultureInfo.InvariantCulture, $"| {label}: allocation per event | {eventStream.BytesPerEvent:0.000} B | < 1 B | {(allocationOk ? "PASS" : "FAIL")} |");

            void Ratio(string what, string peer, double target)
            {
                if (!rates.TryGetValue(peer, out var other))
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"| {what} | NA | >= {target:0.00} | NA |");
                    return;
                }

                var ratio = eventStream.EventsPerSecond / other.EventsPerSecond;
                passed &= ratio >= target || !counts;
                text.AppendLine(CultureInfo.InvariantCulture, $"| {what} | {ratio:0.00} | >= {target:0.00} | {(ratio >= target ? "PASS" : "FAIL")} |");
            }
        }

    }

    text.AppendLine();
    text.AppendLine("The targets are judged on EventStream with its defaults; the second configuration is shown for comparison.");

    Console.WriteLine();
    Console.WriteLine(text);
    Directory.CreateDirectory(Paths.ResultsDirectory);
    File.WriteAllText(Path.Combine(Paths.ResultsDirectory, "throughput-ratios.md"), text.ToString());
    foreach (var file in Directory.EnumerateFiles(summary.ResultsDirectoryPath, "*-report-github.md"))
    {
        var target = Path.Combine(Paths.ResultsDirectory, Path.GetFileName(file));
        File.Copy(file, target, overwrite: true);
        Console.WriteLine($"Copied {file} -> {target}");
    }

    return summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success) ? 1 : passed ? 0 : 2;
}

static async Task<int> RetryAsync(string[] retryArgs)
{
    var count = retryArgs.Length > 0 ? int.Parse(retryArgs[0], CultureInfo.InvariantCulture) : 5_000_000;
    var repetitions = retryArgs.Length > 1 ? int.Parse(retryArgs[1], CultureInfo.InvariantCulture) : 5;
    var workMicroseconds = retryArgs.Length > 2 ? double.Parse(retryArgs[2], CultureInfo.InvariantCulture) : 0;
    var captured = new StringWriter(CultureInfo.InvariantCulture);
    var output = new TeeWriter(Console.Out, captured);
    output.WriteLine(Machine.Describe(Machine.LoadAverage()));
    output.WriteLine();
    var passed = await RetryScenario.RunAsync(count, repetitions, workMicroseconds, output);
    Directory.CreateDirectory(Paths.ResultsDirectory);
    var file = Path.Combine(Paths.ResultsDirectory, workMicroseconds > 0 ? $"retry-results-work-{workMicroseconds:0.##}us.md" : "retry-results.md");
    await File.WriteAllTextAsync(file, $"""
        # Retry case: 10 % of events fail their first two attempts

        `dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- {string.Join(' ', retryArgs.Prepend("retry"))}`

        {captured}
        """);
    Console.WriteLine($"Wrote {file}");
    return passed ? 0 : 2;
}

static async Task<bool> VerifyAsync(int count)
{
    var workload = Workload.Create(count);
    var sink = new UrlMinuteCounts();
    Variants.Fused(workload, sink);
    var expected = sink.GetFingerprint();
    var ok = true;
    foreach (var (name, run) in new (string, Func<Task>)[]
    {
        ("EventStream", async () =>
        {
            var metrics = await Variants.EventStreamAsync(workload, sink);
            if (metrics.Delivered != expected.Total || metrics.Delivered + metrics.Filtered != count || metrics.DeadLettered != 0)
            {
                throw new InvalidOperationException($"EventStream metrics do not add up: {metrics}");
            }
        }),
        ("EventStream/2", () => Variants.EventStreamTwoSegmentsAsync(workload, sink)),
        ("TPL Dataflow", () => Variants.DataflowAsync(workload, sink)),
        ("System.Reactive", () =>
        {
            Variants.Rx(workload, sink);
            return Task.CompletedTask;
        }),
    })
    {
        sink.Clear();
        await run();
        var actual = sink.GetFingerprint();
        var same = actual == expected;
        ok &= same;
        Console.WriteLine($"verify {name,-16} {(same ? "same counts as the fused loop" : $"DIFFERENT: {actual} vs fused {expected}")}");
    }

    return ok;
}

/// <summary>A one-line description of the machine, with the load average (the machine is shared and noisy).</summary>
internal static class Machine
{
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    public static string Describe(string loadAtStart) => string.Create(
        CultureInfo.InvariantCulture,
        $"{RuntimeInformation.OSDescription}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.FrameworkDescription}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average at start {loadAtStart} (1/5/15 min)");
}

/// <summary>Where the project and the committed results live, found from the build output directory.</summary>
internal static class Paths
{
    public static string ProjectDirectory { get; } = FindProjectDirectory();

    public static string ResultsDirectory => Path.GetFullPath(Path.Combine(ProjectDirectory, "..", "results"));

    private static string FindProjectDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EventStream.Benchmarks.csproj")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"EventStream.Benchmarks.csproj not found above {AppContext.BaseDirectory}.");
    }
}

/// <summary>Writes to the console and keeps a copy for the results file.</summary>
internal sealed class TeeWriter(TextWriter first, TextWriter second) : TextWriter
{
    public override Encoding Encoding => first.Encoding;

    public override IFormatProvider FormatProvider => CultureInfo.InvariantCulture;

    public override void Write(char value)
    {
        first.Write(value);
        second.Write(value);
    }

    public override void Write(string? value)
    {
        first.Write(value);
        second.Write(value);
    }

    public override void WriteLine(string? value)
    {
        first.WriteLine(value);
        second.WriteLine(value);
    }
}
