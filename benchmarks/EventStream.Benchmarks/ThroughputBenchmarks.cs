using System.Diagnostics;
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

    private ActivityListener? _listener;

    /// <summary>For <see cref="EventStreamTraced"/>: the same setup, and a listener that samples and records every span.</summary>
    [GlobalSetup(Target = nameof(EventStreamTraced))]
    public void SetupTraced()
    {
        Setup();
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == EventStreamTracing.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    [GlobalCleanup(Target = nameof(EventStreamTraced))]
    public void CleanupTraced() => _listener?.Dispose();

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

    /// <summary>EventStream with its defaults while a listener records every span (one per batch and segment, one per producer batch).</summary>
    [Benchmark(Description = "EventStream, traced")]
    public Task EventStreamTraced() => Variants.EventStreamAsync(_workload, _sink);

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
            .AddColumn(StatisticColumn.Median, BenchmarkColumns.EventsPerSecond(EventCount), BenchmarkColumns.BytesPerEvent(EventCount, "0.000 B"))
            .WithArtifactsPath(artifactsPath)
            .WithOptions(ConfigOptions.DisableLogFile);
}
