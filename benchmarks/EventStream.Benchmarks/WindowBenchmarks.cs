using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace EventStream.Benchmarks;

/// <summary>
/// The window stage, through a pipeline (input queue → window stage counting per key → sink), over 1M pre-built events
/// (<see cref="WindowWorkload"/>): tumbling 5 min and sliding 5 min / 1 s on 10k Zipf keys and on 100 keys, session
/// windows (1 min gap) on 100k keys, and a hand-written tumbling count loop over the 10k-key events (the limit).
/// </summary>
[MemoryDiagnoser]
public class WindowBenchmarks
{
    public const int EventCount = WindowWorkload.EventCount;

    /// <summary>The one case too slow for several iterations (one run takes minutes): it runs once, in a job of its own.</summary>
    public const string SlowCase = nameof(Sliding_10kKeys);

    private Click[] _keys10k = null!;
    private Click[] _keys100 = null!;
    private Click[] _keys100k = null!;
    private WindowSink _sink = new();
    private string? _case;
    private WindowChecks.Expectation? _expected;

    internal WindowSink Sink => _sink;

    internal PipelineMetrics? Metrics { get; private set; }

    /// <summary>Keep every (key, window start) → count in the sink (checks only, never timed).</summary>
    internal bool CollectWindows { get; init; }

    [GlobalSetup]
    public void Setup()
    {
        _keys10k = WindowWorkload.Create(10_000);
        _keys100 = WindowWorkload.Create(100);
        _keys100k = WindowWorkload.Create(100_000);
    }

    [IterationSetup]
    public void NewSink()
    {
        _sink = new WindowSink { Windows = CollectWindows ? [] : null };
        Metrics = null;
    }

    /// <summary>
    /// Every iteration must emit exactly the results computed from the events (windows with data, or sessions), with
    /// the expected sum of counts, each result the first on-time firing of its window, and no late event.
    /// </summary>
    [IterationCleanup]
    public void CheckSink()
    {
        if (_case is null)
        {
            return;
        }

        _expected ??= WindowChecks.Expect(_case, EventsOf(_case));
        var problem = WindowChecks.Problem(_expected, _sink, Metrics, EventCount);
        if (problem is not null)
        {
            throw new InvalidOperationException($"{_case}: {problem}");
        }
    }

    /// <summary>The limit for case 1: a Dictionary&lt;(key, window start), count&gt; loop, no pipeline.</summary>
    [Benchmark]
    public int HandWrittenTumbling_10kKeys()
    {
        _case = nameof(HandWrittenTumbling_10kKeys);
        return WindowWorkload.HandWrittenTumbling(_keys10k, _sink).Count;
    }

    /// <summary>Case 1: tumbling 5 min count, 10k keys.</summary>
    [Benchmark]
    public Task Tumbling_10kKeys() => RunAsync(nameof(Tumbling_10kKeys), WindowWorkload.Tumbling());

    /// <summary>Case 2: sliding 5 min / 1 s, same input as case 1.</summary>
    [Benchmark]
    public Task Sliding_10kKeys() => RunAsync(nameof(Sliding_10kKeys), WindowWorkload.Sliding());

    /// <summary>Case 2, dense keys ("users online per site"): tumbling 5 min, 100 keys.</summary>
    [Benchmark]
    public Task Tumbling_100Keys() => RunAsync(nameof(Tumbling_100Keys), WindowWorkload.Tumbling());

    /// <summary>Case 2, dense keys: sliding 5 min / 1 s, 100 keys.</summary>
    [Benchmark]
    public Task Sliding_100Keys() => RunAsync(nameof(Sliding_100Keys), WindowWorkload.Sliding());

    /// <summary>Case 3: session windows, 1 min gap, 100k keys.</summary>
    [Benchmark]
    public Task Session_100kKeys() => RunAsync(nameof(Session_100kKeys), WindowWorkload.Session());

    internal Click[] EventsOf(string name) =>
        name.EndsWith("_10kKeys", StringComparison.Ordinal) ? _keys10k
        : name.EndsWith("_100Keys", StringComparison.Ordinal) ? _keys100
        : name.EndsWith("_100kKeys", StringComparison.Ordinal) ? _keys100k
        : throw new ArgumentException($"No input for {name}.", nameof(name));

    /// <summary>Runs a case by its method name (checks and profiling).</summary>
    internal async Task InvokeAsync(string name)
    {
        switch (typeof(WindowBenchmarks).GetMethod(name)?.Invoke(this, null))
        {
            case Task task:
                await task;
                break;
            case null when typeof(WindowBenchmarks).GetMethod(name) is null:
                throw new ArgumentException($"No case {name}.", nameof(name));
        }
    }

    private async Task RunAsync(string name, WindowAssigner assigner)
    {
        _case = name;
        Metrics = await WindowWorkload.RunAsync(EventsOf(name), assigner, _sink);
    }

    /// <summary>The job of the 1M-event window workloads (window and sketch benchmarks): 2 warm-ups, 7 iterations of one run each.</summary>
    internal static Job MillionEvents { get; } = Job.Default
        .WithId("1M-events")
        .WithLaunchCount(1)
        .WithWarmupCount(2)
        .WithIterationCount(7)
        .WithInvocationCount(1)
        .WithUnrollFactor(1);

    /// <summary>
    /// Few, long iterations for a noisy 2-core machine: each invocation is one full 1M-event run (no pilot stage, no
    /// unrolling); medians are reported. <see cref="SlowCase"/> (minutes per run) runs once, without warm-up, in a job of
    /// its own, to keep the whole run under ~8 minutes.
    /// </summary>
    public static IConfig CreateConfig(string artifactsPath) =>
        DefaultConfig.Instance
            .AddJob(MillionEvents)
            .AddJob(Job.Default
                .WithId("1M-events-once")
                .WithLaunchCount(1)
                .WithWarmupCount(0)
                .WithIterationCount(1)
                .WithInvocationCount(1)
                .WithUnrollFactor(1)
                .WithStrategy(RunStrategy.Monitoring))
            .AddFilter(new SimpleFilter(c => (c.Job.Id == "1M-events-once") == (c.Descriptor.WorkloadMethod.Name == SlowCase)))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumn(StatisticColumn.Median, BenchmarkColumns.EventsPerSecond(EventCount), BenchmarkColumns.BytesPerEvent(EventCount, "0.0 B"), BenchmarkColumns.Custom(
                "Results", "Results", 2, "Window results emitted per operation (computed from the events; every iteration checked to emit exactly these)",
                (_, benchmarkCase) => WindowChecks.ExpectedResults(benchmarkCase.Descriptor.WorkloadMethod.Name) is { } results ? results.ToString("N0", CultureInfo.InvariantCulture) : "NA"))
            .WithArtifactsPath(artifactsPath)
            .WithOptions(ConfigOptions.DisableLogFile);
}

/// <summary>
/// What each case must emit, computed from the events without the window engine, and the one-run checks (outside
/// timing) of every case against it.
/// </summary>
public static class WindowChecks
{
    private static readonly Dictionary<string, Expectation> HostExpectations = [];
    private static readonly Lazy<WindowBenchmarks> HostInput = new(() =>
    {
        var input = new WindowBenchmarks();
        input.Setup();
        return input;
    });

    /// <summary>The expected outcome of a case. <see cref="Windows"/>: (key, window start) → count, where cheap enough to keep.</summary>
    public sealed record Expectation(long Results, long SumOfCounts, IReadOnlyDictionary<(int Key, long Start), long>? Windows);

    public static Expectation Expect(string name, Click[] events)
    {
        if (name.StartsWith("Tumbling", StringComparison.Ordinal) || name.StartsWith("HandWritten", StringComparison.Ordinal))
        {
            var size = (long)WindowWorkload.TumblingSize.TotalMilliseconds;
            var windows = new Dictionary<(int Key, long Start), long>();
            foreach (var click in events)
            {
                var key = (click.Key, click.TimestampMs - (click.TimestampMs % size));
                windows[key] = windows.GetValueOrDefault(key) + 1;
            }

            return new Expectation(windows.Count, events.Length, windows);
        }

        if (name.StartsWith("Sliding", StringComparison.Ordinal))
        {
            // Windows with data: per key, the union over its slices s (slides with data) of the window starts (s − size/slide, s].
            var slide = (long)WindowWorkload.SlidingSlide.TotalMilliseconds;
            var perEvent = WindowWorkload.TumblingSize.Ticks / WindowWorkload.SlidingSlide.Ticks;
            var windows = 0L;
            foreach (var group in events.Select(e => (e.Key, Slice: e.TimestampMs / slide)).Distinct().GroupBy(p => p.Key))
            {
                var covered = long.MinValue;
                foreach (var s in group.Select(p => p.Slice).Order())
                {
                    windows += s - Math.Max(covered + 1, s - perEvent + 1) + 1;
                    covered = s;
                }
            }

            return new Expectation(windows, perEvent * events.Length, null);
        }

        if (name.StartsWith("Session", StringComparison.Ordinal))
        {
            // Sessions: per key, the runs of events (in time order) with gaps of at most the session gap.
            var gap = (long)WindowWorkload.SessionGap.TotalMilliseconds;
            var sessions = new Dictionary<(int Key, long Start), long>();
            foreach (var group in events.GroupBy(e => e.Key))
            {
                var last = long.MinValue;
                var start = long.MinValue;
                foreach (var t in group.Select(e => e.TimestampMs).Order())
                {
                    if (last == long.MinValue || t - last > gap)
                    {
                        start = t;
                    }

                    sessions[(group.Key, start)] = sessions.GetValueOrDefault((group.Key, start)) + 1;
                    last = t;
                }
            }

            return new Expectation(sessions.Count, events.Length, sessions);
        }

        throw new ArgumentException($"No expectation for {name}.", nameof(name));
    }

    /// <summary>The results a case must emit, computed in the host for the report's Results column.</summary>
    public static long? ExpectedResults(string name)
    {
        lock (HostExpectations)
        {
            if (!HostExpectations.TryGetValue(name, out var expected))
            {
                expected = Expect(name, HostInput.Value.EventsOf(name));
                HostExpectations[name] = expected;
            }

            return expected.Results;
        }
    }

    /// <summary>What is wrong with a run, or <see langword="null"/>.</summary>
    public static string? Problem(Expectation expected, WindowSink sink, PipelineMetrics? metrics, int eventCount)
    {
        var problems = new List<string>();
        if (sink.Results != expected.Results)
        {
            problems.Add($"{sink.Results:N0} results, expected {expected.Results:N0}");
        }

        if (sink.SumOfCounts != expected.SumOfCounts)
        {
            problems.Add($"sum of window counts {sink.SumOfCounts:N0}, expected {expected.SumOfCounts:N0}");
        }

        if (sink.Refirings != 0)
        {
            problems.Add($"{sink.Refirings} results are not the first on-time firing of their window");
        }

        if (metrics is not null && (metrics.Late != 0 || metrics.Windowed != eventCount || metrics.WindowResults != sink.Results))
        {
            problems.Add($"metrics: Late {metrics.Late}, Windowed {metrics.Windowed:N0} (of {eventCount:N0}), WindowResults {metrics.WindowResults:N0} (sink saw {sink.Results:N0})");
        }

        if (sink.Windows is { } actual && expected.Windows is { } windows
            && (actual.Count != windows.Count || windows.Any(w => !actual.TryGetValue(w.Key, out var count) || count != w.Value)))
        {
            problems.Add("the (key, window start) → count pairs differ from the ones computed from the events");
        }

        return problems.Count == 0 ? null : string.Join("; ", problems);
    }

    /// <summary>Runs every case once (cold: the JIT is not warm) and checks it. <paramref name="includeSlow"/>: also <see cref="WindowBenchmarks.SlowCase"/>.</summary>
    public static async Task<bool> RunAsync(TextWriter output, bool includeSlow)
    {
        var benchmarks = new WindowBenchmarks { CollectWindows = true };
        benchmarks.Setup();
        var ok = true;
        foreach (var method in typeof(WindowBenchmarks).GetMethods().Where(m => m.IsDefined(typeof(BenchmarkAttribute), inherit: false)))
        {
            var name = method.Name;
            var expected = Expect(name, benchmarks.EventsOf(name));
            lock (HostExpectations)
            {
                HostExpectations[name] = expected;
            }

            if (name == WindowBenchmarks.SlowCase && !includeSlow)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"check {name,-28} in every BenchmarkDotNet iteration instead (one run takes minutes): expected {expected.Results:N0} results, sum of window counts {expected.SumOfCounts:N0}"));
                continue;
            }

            benchmarks.NewSink();
            var watch = Stopwatch.StartNew();
            await benchmarks.InvokeAsync(name);
            watch.Stop();
            var problem = Problem(expected, benchmarks.Sink, benchmarks.Metrics, WindowBenchmarks.EventCount);
            ok &= problem is null;
            var m = benchmarks.Metrics;
            var metrics = m is null ? "no pipeline" : string.Create(CultureInfo.InvariantCulture, $"Late {m.Late}, Windowed {m.Windowed:N0}");
            var windows = expected.Windows is null ? string.Empty : ", every (key, window start) count equal to the computed one";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"check {name,-28} {(problem is null ? "OK" : $"FAILED: {problem}")} ({watch.Elapsed.TotalSeconds:0.00} s, one cold run): {benchmarks.Sink.Results:N0} results (computed: {expected.Results:N0}), sum of window counts {benchmarks.Sink.SumOfCounts:N0} (expected {expected.SumOfCounts:N0}), {metrics}{windows}"));
        }

        return ok;
    }

    /// <summary>Runs one case <paramref name="runs"/> times with a stopwatch (for profilers), printing time, GCs and results.</summary>
    public static async Task<int> RunOneAsync(string name, int runs, TextWriter output)
    {
        var benchmarks = new WindowBenchmarks();
        benchmarks.Setup();
        for (var run = 0; run < runs; run++)
        {
            benchmarks.NewSink();
            var gcs = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var watch = Stopwatch.StartNew();
            await benchmarks.InvokeAsync(name);
            watch.Stop();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name} run {run + 1}: {watch.Elapsed.TotalMilliseconds:N0} ms, {WindowWorkload.EventCount / watch.Elapsed.TotalSeconds:N0} events/s, {benchmarks.Sink.Results:N0} results, " +
                $"{(GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)WindowWorkload.EventCount:0.0} B/event, GCs {GC.CollectionCount(0) - gcs.Item1}/{GC.CollectionCount(1) - gcs.Item2}/{GC.CollectionCount(2) - gcs.Item3}"));
            benchmarks.CheckSink();
        }

        return 0;
    }
}
