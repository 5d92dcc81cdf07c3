using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using EventStream.Benchmarks;

// dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- throughput [BenchmarkDotNet args]
// dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- retry [events] [repetitions]
// dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- verify
// dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- windows [BenchmarkDotNet args]
// dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- windows-verify
// dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- windows-one <case> [runs]   (for profilers)
// dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- sketches [BenchmarkDotNet args]
// dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- redis [--events N] [--runs R] [--batch-sizes 500,1000] ...
// dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- partition-restore [--runs 3] [--lease 5] ...
// dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- ingest [--seconds 5] [--rounds 3] [--live-seconds 10]
return args.FirstOrDefault() switch
{
    "throughput" => Throughput(args[1..]),
    "retry" => await RetryAsync(args[1..]),
    "verify" => await VerifyAsync(500_000) ? 0 : 1,
    "windows" => Windows(args[1..]),
    "windows-verify" => await WindowChecks.RunAsync(Console.Out, includeSlow: true) ? 0 : 1,
    "windows-one" => await WindowChecks.RunOneAsync(args[1], args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1, Console.Out),
    "sketches" => Sketches(args[1..]),
    "sketches-verify" => await SketchBenchmarks.CheckAsync(Console.Out) ? 0 : 1,
    "redis" => await RedisBenchmark.RunAsync(args[1..]),
    "partition-restore" => await RedisBenchmark.PartitionRestoreAsync(args[1..]),
    "partitioned-pipelines" => await RedisBenchmark.PartitionedPipelinesAsync(args[1..]),
    "ingest" => await IngestHttpBenchmark.RunAsync(args[1..]),
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

          dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- windows [BenchmarkDotNet args]
              The window stage through a pipeline over 1M events: tumbling 5 min and sliding 5 min / 1 s (10k and 100
              Zipf keys), sessions (1 min gap, 100k keys) and a hand-written tumbling loop (the limit). Checks the
              counts once, runs BenchmarkDotNet, then writes benchmarks/results/window-ratios.md (sliding/tumbling,
              tumbling/hand-written) and copies the github-markdown report to benchmarks/results/.

          dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- windows-verify
              Runs every window case once and checks its counts (no BenchmarkDotNet).

          dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- windows-one <case> [runs=1]
              Runs one window case (a WindowBenchmarks method name, e.g. Sliding_10kKeys) with a stopwatch, to profile
              it (perf, dotnet-trace, dotnet-counters).

          dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- sketches [BenchmarkDotNet args]
              TopK(10) and Percentiles(p50, p95, p99) against count in the same run, on the window workload's 100 keys
              (tumbling 5 min, sliding 5 min / 1 s). Checks every case once against count and the exact answers, runs
              BenchmarkDotNet, then writes benchmarks/results/sketch-ratios.md (target: <= 3x count on tumbling windows)
              and copies the github-markdown report to benchmarks/results/. (sketches-verify: the checks only.)

          dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- redis [--events 200000] [--baseline-events 20000]
                  [--runs 5] [--batch-sizes 500[,1000,2000]] [--keys 1000] [--uniform] [--aof] [--no-profile] [--pipeline 16] [--clients 50]
              End to end through a private redis-server (started and stopped by the run): produce -> consumer group ->
              window update -> ack, with the Lua window worker (RedisWindowWorker, retired in issue 10, its copy kept as
              the baseline: 1 and 2 workers) vs the original design (a list and 4
              sequential round trips per event, 1 and 2 consumers) vs redis-benchmark XADD (the limit), and the
              partitioned path (PipelineBuilder ... BuildPartitioned: 1 and 2 workers, and 1 worker draining a filled
              stream). Medians of the runs; every run checked; then a SLOWLOG profile run per batch size (server time
              per script). Writes benchmarks/results/redis-throughput.md. Exit 2 when a target is missed.

          dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- partition-restore [--runs 3] [--lease 5]
                  [--keys 1000] [--seconds 1000] [--window 1000] [--partitions 16] [--no-crash]
              Restore time of one partition holding ~1M sliding-window slices (1,000 keys all in partition 0, one event
              per key per second for 1,000 s, sliding 1,000 s by 1 s): a fresh worker after a graceful stop, and a
              fresh worker after the owner (a child process) is SIGKILLed. Median of the runs, every committed window
              checked. Writes benchmarks/results/partition-restore.md. Exit 2 when the target is missed.

          dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- partitioned-pipelines [--events 200000] [--runs 3]
              One partitioned worker draining a filled stream through three pipelines in the same round: tumbling
              1-minute sums (the reference), the dashboard's users online (sliding 5 min by 1 s, distinct visitors) and a
              user-defined aggregate (a record accumulator stored as JSON); committed results compared with the same
              pipeline in memory. Writes benchmarks/results/partitioned-pipelines.md. Exit 2 when a check fails.

          dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- ingest [--seconds 5] [--rounds 3] [--live-seconds 10]
              HTTP over loopback in one Kestrel app: events/s through MapEventIngest (into a counting sink) vs a bare
              minimal-API endpoint that only deserialises the same body (8 clients, batches of 100 and 1,000, rounds
              alternating the two), then POST -> SSE latency through a window stage with early firings into
              MapWindowResults at 1,000 and 10,000 events/s (p50/p99). Writes benchmarks/results/ingest-http.md.
              Exit 2 when a target is missed, 1 when a check fails.
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
        if (rates.TryGetValue(nameof(ThroughputBenchmarks.EventStreamTraced), out var traced) && rates.TryGetValue(nameof(ThroughputBenchmarks.EventStream), out var untraced))
        {
            // Shown, not judged: what a listener that records every span costs, against no listener in the same run.
            text.AppendLine(CultureInfo.InvariantCulture, $"| EventStream traced (every span recorded) / EventStream (no listener) | {traced.EventsPerSecond / untraced.EventsPerSecond:0.00} | - | shown |");
        }

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

    return WriteReport(text, "throughput-ratios.md", summary, "*-report-github.md", passed);
}

// Prints the ratio report, writes it to benchmarks/results/ with BenchmarkDotNet's GitHub reports; exit code 0 met,
// 1 a benchmark failed, 2 a target missed.
/// <summary>The report's "Checks" section: one bullet per line the checks wrote.</summary>
static void AppendChecks(System.Text.StringBuilder text, StringWriter checks)
{
    text.AppendLine();
    text.AppendLine("## Checks (one run each, outside timing)");
    text.AppendLine();
    foreach (var line in checks.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
    {
        text.AppendLine(CultureInfo.InvariantCulture, $"- {line}");
    }
}

static int WriteReport(System.Text.StringBuilder text, string fileName, BenchmarkDotNet.Reports.Summary summary, string reports, bool passed)
{
    Console.WriteLine();
    Console.WriteLine(text);
    Directory.CreateDirectory(Paths.ResultsDirectory);
    File.WriteAllText(Path.Combine(Paths.ResultsDirectory, fileName), text.ToString());
    foreach (var file in Directory.EnumerateFiles(summary.ResultsDirectoryPath, reports))
    {
        var target = Path.Combine(Paths.ResultsDirectory, Path.GetFileName(file));
        File.Copy(file, target, overwrite: true);
        Console.WriteLine($"Copied {file} -> {target}");
    }

    return summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success) ? 1 : passed ? 0 : 2;
}

static int Sketches(string[] benchmarkArgs)
{
    var loadAtStart = Machine.LoadAverage();
    var checks = new StringWriter(CultureInfo.InvariantCulture);
    if (!SketchBenchmarks.CheckAsync(new TeeWriter(Console.Out, checks)).GetAwaiter().GetResult())
    {
        return 1;
    }

    var artifacts = Path.Combine(Paths.ProjectDirectory, "BenchmarkDotNet.Artifacts");
    var summary = BenchmarkRunner.Run<SketchBenchmarks>(SketchBenchmarks.CreateConfig(artifacts), benchmarkArgs);
    var loadAtEnd = Machine.LoadAverage();
    var rows = new Dictionary<string, (double Seconds, double BytesPerEvent)>();
    foreach (var report in summary.Reports)
    {
        if (report.ResultStatistics is { } stats)
        {
            rows[report.BenchmarkCase.Descriptor.WorkloadMethod.Name] = (stats.Median / 1e9, (report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? 0) / (double)SketchBenchmarks.EventCount);
        }
    }

    var text = new StringBuilder();
    text.AppendLine(CultureInfo.InvariantCulture, $"# Top-k and percentiles against count ({SketchBenchmarks.EventCount:N0} events per operation, medians)");
    text.AppendLine();
    text.AppendLine(CultureInfo.InvariantCulture, $"`dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- {string.Join(' ', benchmarkArgs.Prepend("sketches"))}`");
    text.AppendLine();
    text.AppendLine(CultureInfo.InvariantCulture, $"{Machine.Describe(loadAtStart)}; load average at the end {loadAtEnd}. Full report: the `*SketchBenchmarks-report-github.md` next to this file.");
    text.AppendLine();
    text.AppendLine(CultureInfo.InvariantCulture, $"""
        Input: the window benchmark's 100-key clicks (`WindowWorkload.Create(100)`: 1M events over 30 minutes, keys Zipf 1.0,
        10 % out of order by up to 4 s), each given a page (Zipf 1.0 over {SketchBenchmarks.Pages:N0} pages) and a load time
        (lognormal, e^(5.5 + N(0,1)) ms), seeded. Same pipeline as the window benchmarks (Capacity {Variants.Capacity:N0},
        BatchSize {Variants.BatchSize}, OutOfOrderness 5 s, fed in chunks of {WindowWorkload.ProducerChunk:N0}), per key:
        `Aggregates.Count`, `Aggregates.TopK(10, e => e.Page)` (capacity 100) and
        `Aggregates.Percentiles(e => e.LoadMs, 0.5, 0.95, 0.99)` (α = 1 %, exact up to 64 values); tumbling 5 min and
        sliding 5 min / 1 s. Count runs over the same `PageLoad` events, so each ratio is the aggregate's own cost.
        """);
    AppendChecks(text, checks);

    text.AppendLine();
    text.AppendLine("## Medians and ratios to count");
    text.AppendLine();
    text.AppendLine("| Case | Median time | ns/event | Allocated B/event | Ratio to count | Target | Result |");
    text.AppendLine("|---|---:|---:|---:|---:|---:|---|");
    var passed = true;
    foreach (var name in SketchBenchmarks.Cases)
    {
        if (!rows.TryGetValue(name, out var row))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | NA | NA | NA | NA | | NA |");
            continue;
        }

        var kind = name[(name.IndexOf('_', StringComparison.Ordinal) + 1)..];
        var baseline = rows.TryGetValue("Count_" + kind, out var b) ? b.Seconds : double.NaN;
        var ratio = row.Seconds / baseline;
        var target = kind == "Tumbling" && !name.StartsWith("Count", StringComparison.Ordinal) ? 3.0 : (double?)null;
        var ok = target is not { } t || ratio <= t;
        passed &= ok;
        text.AppendLine(CultureInfo.InvariantCulture,
            $"| {name} | {row.Seconds * 1000:N0} ms | {row.Seconds * 1e9 / SketchBenchmarks.EventCount:N0} | {row.BytesPerEvent:0.0} | {ratio:0.00}× | {(target is { } t1 ? $"<= {t1:0}×" : "—")} | {(target is null ? "—" : ok ? "PASS" : "FAIL")} |");
    }

    return WriteReport(text, "sketch-ratios.md", summary, "*SketchBenchmarks-report-github.md", passed);
}

static int Windows(string[] benchmarkArgs)
{
    var loadAtStart = Machine.LoadAverage();
    var checks = new StringWriter(CultureInfo.InvariantCulture);
    if (!WindowChecks.RunAsync(new TeeWriter(Console.Out, checks), includeSlow: false).GetAwaiter().GetResult())
    {
        return 1;
    }

    var artifacts = Path.Combine(Paths.ProjectDirectory, "BenchmarkDotNet.Artifacts");
    var summary = BenchmarkRunner.Run<WindowBenchmarks>(WindowBenchmarks.CreateConfig(artifacts), benchmarkArgs);
    var rows = new Dictionary<string, (double Seconds, double EventsPerSecond, double BytesPerEvent, long Results)>();
    foreach (var report in summary.Reports)
    {
        if (report.ResultStatistics is { } stats)
        {
            var name = report.BenchmarkCase.Descriptor.WorkloadMethod.Name;
            var bytes = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? 0;
            rows[name] = (stats.Median / 1e9, WindowBenchmarks.EventCount / (stats.Median / 1e9), bytes / (double)WindowBenchmarks.EventCount,
                WindowChecks.ExpectedResults(name) ?? -1);
        }
    }

    var text = new StringBuilder();
    text.AppendLine(CultureInfo.InvariantCulture, $"# Window stage ({WindowBenchmarks.EventCount:N0} events per operation, medians)");
    text.AppendLine();
    text.AppendLine(CultureInfo.InvariantCulture, $"`dotnet run -c Release --project benchmarks/EventStream.Benchmarks -- {string.Join(' ', benchmarkArgs.Prepend("windows"))}`");
    text.AppendLine();
    text.AppendLine(CultureInfo.InvariantCulture, $"{Machine.Describe(loadAtStart)}. Full report: the `*WindowBenchmarks-report-github.md` next to this file.");
    text.AppendLine();
    text.AppendLine("## Input");
    text.AppendLine();
    text.AppendLine(CultureInfo.InvariantCulture, $"""
        Pre-built `record struct Click(int Key, long TimestampMs)`, seeded ({WindowWorkload.Seed}), {WindowWorkload.EventCount:N0} per case:

        - Event time spans {WindowWorkload.SpanMs / 60_000} minutes: event *i* is at `start + i·{WindowWorkload.SpanMs / 60_000} min/{WindowWorkload.EventCount:N0}` (~{WindowWorkload.SpanMs / (double)WindowWorkload.EventCount:0.0} ms apart), so timestamps increase;
          {WindowWorkload.DisplacedShare:P0} of the events are moved back by 1–{WindowWorkload.MaxDisplacementMs} ms (uniform): out of order, within the stage's {WindowWorkload.OutOfOrderness.TotalSeconds:0} s bound, so `Late` is 0 and no window fires twice.
        - Keys are Zipf-distributed (exponent {WindowWorkload.ZipfExponent:0.0}, key 0 densest): with 10k keys key 0 has ~10 % of the events and the rarest keys ~10 in 30 min;
          with 100 keys ("users online per site") key 0 has ~19 % and the rarest ~0.2 % (~1 event/s); with 100k keys (sessions) most keys have 0–3 events.
        - Pipeline: `PipelineBuilder.Create<Click>` (Capacity {Variants.Capacity:N0}, BatchSize {Variants.BatchSize}) → `Window` (count per key; tumbling {WindowWorkload.TumblingSize.TotalMinutes:0} min,
          sliding {WindowWorkload.TumblingSize.TotalMinutes:0} min / {WindowWorkload.SlidingSlide.TotalSeconds:0} s, session gap {WindowWorkload.SessionGap.TotalMinutes:0} min; OutOfOrderness {WindowWorkload.OutOfOrderness.TotalSeconds:0} s) → `Sink` counting the results;
          fed with `WriteBatchAsync` in chunks of {WindowWorkload.ProducerChunk:N0}, then `CompleteAsync`. The pipeline is built inside each operation.
        - Hand-written loop: `Dictionary<(int key, long windowStart), long>` tumbling count over the 10k-key events, each window handed to the same sink once at the end (no watermark, no timers, no queue).
        - Sliding windows emit one result per window per key with data: up to size/slide = {WindowWorkload.TumblingSize.Ticks / WindowWorkload.SlidingSlide.Ticks}× as many as tumbling windows (every window of a key fires at its own end).
        """);
    AppendChecks(text, checks);

    text.AppendLine();
    text.AppendLine("## Medians");
    text.AppendLine();
    text.AppendLine("| Case | Median time | Events/s | Allocated B/event | Results emitted | Results/event | Allocated B/result |");
    text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
    foreach (var (name, row) in rows)
    {
        var perResult = row.Results > 0 ? (row.BytesPerEvent * WindowBenchmarks.EventCount / row.Results).ToString("N0", CultureInfo.InvariantCulture) : "NA";
        text.AppendLine(CultureInfo.InvariantCulture,
            $"| {name} | {row.Seconds * 1000:N0} ms | {row.EventsPerSecond:N0} | {row.BytesPerEvent:0.0} | {row.Results:N0} | {row.Results / (double)WindowBenchmarks.EventCount:0.000} | {perResult} |");
    }

    text.AppendLine();
    text.AppendLine("## Ratios");
    text.AppendLine();
    text.AppendLine("| Ratio (of median times) | Value | Target | Result |");
    text.AppendLine("|---|---:|---:|---|");
    var passed = true;
    Ratio("Sliding 5m/1s / tumbling 5m, 10k keys", nameof(WindowBenchmarks.Sliding_10kKeys), nameof(WindowBenchmarks.Tumbling_10kKeys), 2.0);
    Ratio("Sliding 5m/1s / tumbling 5m, 100 keys", nameof(WindowBenchmarks.Sliding_100Keys), nameof(WindowBenchmarks.Tumbling_100Keys), 2.0);
    Ratio("EventStream tumbling / hand-written loop, 10k keys", nameof(WindowBenchmarks.Tumbling_10kKeys), nameof(WindowBenchmarks.HandWrittenTumbling_10kKeys), null);
    if (rows.TryGetValue(nameof(WindowBenchmarks.Tumbling_10kKeys), out var es) && rows.TryGetValue(nameof(WindowBenchmarks.HandWrittenTumbling_10kKeys), out var hand))
    {
        text.AppendLine(CultureInfo.InvariantCulture, $"| EventStream tumbling events/s as a share of the hand-written loop's | {es.EventsPerSecond / hand.EventsPerSecond:P1} | — | — |");
    }

    foreach (var keys in new[] { "10k", "100" })
    {
        if (rows.TryGetValue($"Sliding_{keys}Keys", out var sliding) && rows.TryGetValue($"Tumbling_{keys}Keys", out var tumbling) && sliding.Results > tumbling.Results)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| Sliding − tumbling time per extra result, {keys} keys: all the extra time / (sliding − tumbling results) | {(sliding.Seconds - tumbling.Seconds) * 1e9 / (sliding.Results - tumbling.Results):N0} ns | — | — |");
        }
    }

    text.AppendLine();
    text.AppendLine("The 2× target is judged on the median times of the same input; sliding windows emit many more results (see Results emitted), which the 100-key case keeps small.");

    return WriteReport(text, "window-ratios.md", summary, "*WindowBenchmarks-report-github.md", passed);

    void Ratio(string what, string numerator, string denominator, double? target)
    {
        if (!rows.TryGetValue(numerator, out var top) || !rows.TryGetValue(denominator, out var bottom))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {what} | NA | {(target is { } t0 ? $"<= {t0:0.00}" : "—")} | NA |");
            return;
        }

        var ratio = top.Seconds / bottom.Seconds;
        var ok = target is not { } t || ratio <= t;
        passed &= ok;
        text.AppendLine(CultureInfo.InvariantCulture, $"| {what} | {ratio:0.00}× | {(target is { } t1 ? $"<= {t1:0.00}×" : "—")} | {(target is null ? "—" : ok ? "PASS" : "FAIL")} |");
    }
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
