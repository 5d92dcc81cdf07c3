using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace EventStream.Benchmarks;

/// <summary>
/// Transform → filter (~10 % dropped) → enrich → count per (url, minute) over 5M pre-built events, run by EventStream
/// and its peers in the same run. TPL Dataflow is the baseline, so the Ratio column reads "time relative to Dataflow".
/// </summary>
[MemoryDiagnoser]
public class ThroughputBenchmarks
{
    public const int EventCount = 5_000_000;

    private Workload _workload = null!;

    /// <summary>Reference: the design's weight (fused loop ~50M/s there). UrlLookup: a URL string lookup per event on top.</summary>
    [Params(WorkloadWeight.Reference, WorkloadWeight.UrlLookup)]
    public WorkloadWeight Weight { get; set; }
    private UrlMinuteCounts _sink = null!;
    private UrlMinuteCounts.Fingerprint _expected;

    [GlobalSetup]
    public void Setup()
    {
        _workload = Workload.Create(EventCount, Weight);
        _sink = new UrlMinuteCounts();
        Variants.Fused(_workload, _sink);
        _expected = _sink.GetFingerprint();
        _sink.Clear();
    }

    [IterationSetup]
    public void ClearSink() => _sink.Clear();

    /// <summary>Every iteration of every variant must count exactly what the fused loop counted.</summary>
    [IterationCleanup]
    public void CheckSink()
    {
        var actual = _sink.GetFingerprint();
        if (actual != _expected)
        {
            throw new InvalidOperationException($"The sink counted {actual}, the fused loop {_expected}: the variants do not do the same work.");
        }
    }

    [Benchmark(Baseline = true)]
    public Task TplDataflow() => Variants.DataflowAsync(_workload, _sink);

    [Benchmark]
    public Task EventStream() => Variants.EventStreamAsync(_workload, _sink);

    [Benchmark(Description = "EventStream, sink on its own worker")]
    public Task EventStreamTwoSegments() => Variants.EventStreamTwoSegmentsAsync(_workload, _sink);

    [Benchmark]
    public void SystemReactive() => Variants.Rx(_workload, _sink);

    /// <summary>The limit: the same work with no pipeline at all.</summary>
    [Benchmark(Baseline = false)]
    public void FusedLoop() => Variants.Fused(_workload, _sink);

    /// <summary>
    /// Few, long iterations for a noisy 2-core machine: each invocation is one full 5M-event run, so there is no pilot
    /// stage and no unrolling; medians are reported.
    /// </summary>
    public static IConfig CreateConfig(string artifactsPath) =>
        DefaultConfig.Instance
            .AddJob(Job.Default
                .WithId("5M-events")
                .WithLaunchCount(1)
                .WithWarmupCount(2)
                .WithIterationCount(9)
                .WithInvocationCount(1)
                .WithUnrollFactor(1))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumn(StatisticColumn.Median, new EventsPerSecondColumn(), new BytesPerEventColumn())
            .WithArtifactsPath(artifactsPath)
            .WithOptions(ConfigOptions.DisableLogFile);

    /// <summary>Events per second from the median time per operation.</summary>
    private sealed class EventsPerSecondColumn : IColumn
    {
        public string Id => nameof(EventsPerSecondColumn);

        public string ColumnName => "Events/s (median)";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Events per second, from the median time of one 5M-event operation";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
            summary[benchmarkCase]?.ResultStatistics is { } stats
                ? (EventCount / (stats.Median / 1e9)).ToString("N0", System.Globalization.CultureInfo.InvariantCulture)
                : "NA";

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;
    }

    /// <summary>Allocated bytes per event, from the MemoryDiagnoser's bytes per operation.</summary>
    private sealed class BytesPerEventColumn : IColumn
    {
        public string Id => nameof(BytesPerEventColumn);

        public string ColumnName => "Alloc/event";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 1;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Allocated bytes per event (allocated bytes per operation / 5M)";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
            summary[benchmarkCase] is { } report && report.GcStats.GetBytesAllocatedPerOperation(benchmarkCase) is { } bytes
                ? (bytes / (double)EventCount).ToString("0.000 B", System.Globalization.CultureInfo.InvariantCulture)
                : "NA";

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;
    }
}
