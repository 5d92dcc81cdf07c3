using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace EventStream.Benchmarks;

/// <summary>A page load: the window benchmarks' click (key, event time) with a page (Zipf over 1,000) and a load time (lognormal, ms).</summary>
public readonly record struct PageLoad(int Key, long TimestampMs, int Page, double LoadMs);

/// <summary>
/// The sketch aggregates against count in the same run, on the window benchmarks' 100-key workload
/// (<see cref="WindowWorkload.Create"/>: 1M events over 30 minutes, 10 % out of order by up to 4 s): TopK(10) of the
/// page and Percentiles(p50, p95, p99) of the load time, per key, tumbling 5 min and sliding 5 min / 1 s, through the
/// same pipeline as <see cref="WindowBenchmarks"/> (input queue → window stage → sink). The baseline of each category is
/// count over the same <see cref="PageLoad"/> events, so the ratios are the cost of the aggregate alone.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SketchBenchmarks
{
    public const int EventCount = WindowWorkload.EventCount;
    public const int Keys = 100;
    public const int Pages = 1_000;

    private PageLoad[] _events = null!;

    internal SketchSink Sink { get; private set; } = new();

    [GlobalSetup]
    public void Setup() => _events = Create();

    [IterationSetup]
    public void NewSink() => Sink = new SketchSink();

    /// <summary>The window workload's 100-key clicks, each with a page (Zipf, exponent 1.0, over 1,000) and a load time (e^(5.5 + N(0,1)) ms, ~245 ms median), seeded.</summary>
    public static PageLoad[] Create()
    {
        var clicks = WindowWorkload.Create(Keys);
        var random = new Random(WindowWorkload.Seed + 1);
        var pages = new KeyDistribution(Pages, 1.0);
        var events = new PageLoad[clicks.Length];
        for (var i = 0; i < clicks.Length; i++)
        {
            var normal = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            events[i] = new PageLoad(clicks[i].Key, clicks[i].TimestampMs, pages.Next(random), Math.Exp(5.5 + normal));
        }

        return events;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Tumbling_100Keys")]
    public Task Count_Tumbling() => RunAsync(WindowWorkload.Tumbling(), Aggregates.Count<PageLoad>());

    [Benchmark, BenchmarkCategory("Tumbling_100Keys")]
    public Task TopK10_Tumbling() => RunAsync(WindowWorkload.Tumbling(), Aggregates.TopK<PageLoad, int>(10, e => e.Page));

    [Benchmark, BenchmarkCategory("Tumbling_100Keys")]
    public Task Percentiles_Tumbling() => RunAsync(WindowWorkload.Tumbling(), Aggregates.Percentiles<PageLoad>(e => e.LoadMs, 0.5, 0.95, 0.99));

    [Benchmark(Baseline = true), BenchmarkCategory("Sliding_100Keys")]
    public Task Count_Sliding() => RunAsync(WindowWorkload.Sliding(), Aggregates.Count<PageLoad>());

    [Benchmark, BenchmarkCategory("Sliding_100Keys")]
    public Task TopK10_Sliding() => RunAsync(WindowWorkload.Sliding(), Aggregates.TopK<PageLoad, int>(10, e => e.Page));

    [Benchmark, BenchmarkCategory("Sliding_100Keys")]
    public Task Percentiles_Sliding() => RunAsync(WindowWorkload.Sliding(), Aggregates.Percentiles<PageLoad>(e => e.LoadMs, 0.5, 0.95, 0.99));

    /// <summary>The cases in the order of the report: per window kind, count then the two sketches.</summary>
    public static readonly string[] Cases =
    [
        nameof(Count_Tumbling), nameof(TopK10_Tumbling), nameof(Percentiles_Tumbling),
        nameof(Count_Sliding), nameof(TopK10_Sliding), nameof(Percentiles_Sliding),
    ];

    internal Task InvokeAsync(string name) => (Task)typeof(SketchBenchmarks).GetMethod(name)!.Invoke(this, null)!;

    private async Task RunAsync<TAcc, TResult>(WindowAssigner assigner, IAggregator<PageLoad, TAcc, TResult> aggregate)
    {
        var sink = Sink;
        var pipeline = PipelineBuilder.Create<PageLoad>("w", o =>
            {
                o.Capacity = Variants.Capacity;
                o.BatchSize = Variants.BatchSize;
            })
            .Window("w", new WindowOptions<PageLoad, int>
            {
                Assigner = assigner,
                Key = c => c.Key,
                Timestamp = c => c.TimestampMs,
                OutOfOrderness = WindowWorkload.OutOfOrderness,
            }, aggregate)
            .Sink("out", (WindowResult<int, TResult> r) => sink.Add(r))
            .Build();
        await using (pipeline)
        {
            var memory = _events.AsMemory();
            for (var offset = 0; offset < memory.Length; offset += WindowWorkload.ProducerChunk)
            {
                await pipeline.WriteBatchAsync(memory.Slice(offset, Math.Min(WindowWorkload.ProducerChunk, memory.Length - offset)));
            }

            await pipeline.CompleteAsync();
            sink.Late = pipeline.GetMetrics().Late;
        }
    }

    /// <summary>Same shape as <see cref="WindowBenchmarks.CreateConfig"/>: few, long iterations (one 1M-event run each), medians.</summary>
    public static IConfig CreateConfig(string artifactsPath) =>
        DefaultConfig.Instance
            .AddJob(WindowBenchmarks.MillionEvents)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumn(StatisticColumn.Median, BenchmarkColumns.EventsPerSecond(EventCount), BenchmarkColumns.BytesPerEvent(EventCount, "0.0 B"))
            .WithArtifactsPath(artifactsPath)
            .WithOptions(ConfigOptions.DisableLogFile);

    /// <summary>
    /// Runs each case once (outside timing) and checks it: the same windows and counts as count gives, no late event,
    /// and for the first window of each key the top-10 and the percentiles against the exact answer (the top-k counts
    /// within their errors, the quantiles within 1 %).
    /// </summary>
    public static async Task<bool> CheckAsync(TextWriter output)
    {
        var benchmarks = new SketchBenchmarks();
        benchmarks.Setup();
        var ok = true;
        var windows = new Dictionary<string, (long Results, long SumOfCounts)>();
        foreach (var name in Cases)
        {
            benchmarks.NewSink();
            var watch = Stopwatch.StartNew();
            await benchmarks.InvokeAsync(name);
            var sink = benchmarks.Sink;
            var kind = name[(name.IndexOf('_', StringComparison.Ordinal) + 1)..];
            var problems = new List<string>();
            if (sink.Late != 0)
            {
                problems.Add($"{sink.Late} late");
            }

            if (!windows.TryAdd(kind, (sink.Results, sink.SumOfCounts)) && windows[kind] != (sink.Results, sink.SumOfCounts))
            {
                problems.Add($"{sink.Results:N0} results / {sink.SumOfCounts:N0} counted, count gave {windows[kind].Results:N0} / {windows[kind].SumOfCounts:N0}");
            }

            problems.AddRange(sink.Problems(benchmarks._events, kind == "Tumbling" ? (long)WindowWorkload.TumblingSize.TotalMilliseconds : -1));
            ok &= problems.Count == 0;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"check {name,-22} {(problems.Count == 0 ? "OK" : "FAILED: " + string.Join("; ", problems))} ({watch.Elapsed.TotalSeconds:0.00} s, one cold run): {sink.Results:N0} results, sum of window counts {sink.SumOfCounts:N0}, Late {sink.Late}, {sink.Checked} windows checked against the exact answer"));
        }

        return ok;
    }
}

/// <summary>The sketch benchmarks' sink: counts results and window counts, keeps the first tumbling window of each key for the checks.</summary>
internal sealed class SketchSink
{
    private readonly Dictionary<int, object> _firstTumbling = [];

    public long Results { get; private set; }

    public long SumOfCounts { get; private set; }

    public long Late { get; set; }

    public int Checked { get; private set; }

    public void Add<TResult>(WindowResult<int, TResult> result)
    {
        Results++;
        SumOfCounts += result.Count;
        if (result.Start == WindowWorkload.StartMs && result.End - result.Start == (long)WindowWorkload.TumblingSize.TotalMilliseconds && result.Value is not long)
        {
            _firstTumbling[result.Key] = result.Value!;
        }
    }

    /// <summary>The first 5-minute window of every key against the exact top-10 and quantiles (tumbling runs only).</summary>
    public IEnumerable<string> Problems(PageLoad[] events, long size)
    {
        if (size < 0 || _firstTumbling.Count == 0)
        {
            yield break;
        }

        foreach (var group in events.Where(e => e.TimestampMs >= WindowWorkload.StartMs && e.TimestampMs < WindowWorkload.StartMs + size).GroupBy(e => e.Key))
        {
            if (!_firstTumbling.TryGetValue(group.Key, out var value))
            {
                yield return $"no first window for key {group.Key}";
                continue;
            }

            Checked++;
            if (value is IReadOnlyList<TopKItem<int>> top)
            {
                var exact = group.GroupBy(e => e.Page).ToDictionary(g => g.Key, g => (long)g.Count());
                if (top.Count != Math.Min(10, exact.Count) || top.Any(t => t.Count < exact.GetValueOrDefault(t.Item) || t.Count - t.Error > exact.GetValueOrDefault(t.Item)))
                {
                    yield return $"key {group.Key}: a top-10 count outside its error";
                }
            }
            else if (value is IReadOnlyDictionary<double, double> quantiles)
            {
                var sorted = group.Select(e => e.LoadMs).Order().ToArray();
                foreach (var (q, v) in quantiles)
                {
                    var exact = sorted[(int)Math.Floor(q * (sorted.Length - 1))];
                    if (Math.Abs(v - exact) > (0.01 * exact) + 1e-9)
                    {
                        yield return $"key {group.Key}: p{q * 100} {v} vs exact {exact}";
                    }
                }
            }
        }
    }
}
