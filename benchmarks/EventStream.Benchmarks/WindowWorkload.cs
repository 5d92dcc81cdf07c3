using System.Runtime.InteropServices;

namespace EventStream.Benchmarks;

/// <summary>One click: who (the window key) and when (event time, epoch milliseconds).</summary>
public readonly record struct Click(int Key, long TimestampMs);

/// <summary>
/// The window benchmarks' input, built once and deterministically (seeded):
/// <list type="bullet">
/// <item><see cref="EventCount"/> events over <see cref="SpanMs"/> (30 minutes) of event time: event <c>i</c> sits at
/// <c>start + i·span/count</c> (about 1.8 ms apart), so timestamps increase.</item>
/// <item><see cref="DisplacedShare"/> of the events are moved back by 1 to <see cref="MaxDisplacementMs"/> ms (uniform):
/// out of order, but within the stage's 5 s bound, so no event is late and no window fires twice.</item>
/// <item>Keys follow a Zipf law with exponent <see cref="ZipfExponent"/> over the key count (key 0 the densest): with 10k
/// keys, key 0 gets ~10 % of the events (a few every 20 ms) and the last keys ~10 events in the 30 minutes.</item>
/// </list>
/// </summary>
public static class WindowWorkload
{
    public const int EventCount = 1_000_000;
    public const long StartMs = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    public const long SpanMs = 30 * 60_000;
    public const double DisplacedShare = 0.10;
    public const long MaxDisplacementMs = 4_000;
    public const double ZipfExponent = 1.0;
    public const int Seed = 20_260_101;

    public static readonly TimeSpan OutOfOrderness = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan TumblingSize = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan SlidingSlide = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan SessionGap = TimeSpan.FromMinutes(1);

    /// <summary>Events per producer call to <c>WriteBatchAsync</c>.</summary>
    public const int ProducerChunk = 4_096;

    public static Click[] Create(int keys, int count = EventCount, int seed = Seed)
    {
        var random = new Random(seed);
        var distribution = new KeyDistribution(keys, ZipfExponent);
        var events = new Click[count];
        for (var i = 0; i < count; i++)
        {
            var key = distribution.Next(random);
            var t = StartMs + (long)(i * (double)SpanMs / count);
            if (random.NextDouble() < DisplacedShare)
            {
                t -= 1 + random.NextInt64(MaxDisplacementMs);
            }

            events[i] = new Click(key, t);
        }

        return events;
    }

    public static WindowAssigner Tumbling() => WindowAssigner.Tumbling(TumblingSize);

    public static WindowAssigner Sliding() => WindowAssigner.Sliding(TumblingSize, SlidingSlide);

    public static WindowAssigner Session() => WindowAssigner.Session(SessionGap);

    /// <summary>
    /// The window stage as users run it: a pipeline (input queue, window stage, sink) fed in chunks of
    /// <see cref="ProducerChunk"/>, counting per key and window.
    /// </summary>
    public static async Task<PipelineMetrics> RunAsync(Click[] events, WindowAssigner assigner, WindowSink sink)
    {
        var pipeline = PipelineBuilder.Create<Click>("w", o =>
            {
                o.Capacity = Variants.Capacity;
                o.BatchSize = Variants.BatchSize;
            })
            .Window("w", new WindowOptions<Click, int>
            {
                Assigner = assigner,
                Key = c => c.Key,
                Timestamp = c => c.TimestampMs,
                OutOfOrderness = OutOfOrderness,
            }, Aggregates.Count<Click>())
            .Sink("count", sink.Add)
            .Build();
        await using (pipeline)
        {
            var memory = events.AsMemory();
            for (var offset = 0; offset < memory.Length; offset += ProducerChunk)
            {
                await pipeline.WriteBatchAsync(memory.Slice(offset, Math.Min(ProducerChunk, memory.Length - offset)));
            }

            await pipeline.CompleteAsync();
            return pipeline.GetMetrics();
        }
    }

    /// <summary>
    /// The limit: a hand-written tumbling count, one dictionary of (key, window start) → count, no watermark, no timers,
    /// every window "emitted" once at the end. Fresh dictionary per run, as the pipeline builds fresh state per run.
    /// </summary>
    public static Dictionary<(int Key, long WindowStart), long> HandWrittenTumbling(Click[] events, WindowSink sink)
    {
        var size = (long)TumblingSize.TotalMilliseconds;
        var counts = new Dictionary<(int Key, long WindowStart), long>();
        foreach (var click in events)
        {
            ref var count = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, (click.Key, click.TimestampMs - (click.TimestampMs % size)), out _);
            count++;
        }

        foreach (var ((key, start), count) in counts)
        {
            sink.Add(key, start, count);
        }

        return counts;
    }
}

/// <summary>The sink of every window benchmark: counts the results and sums their counts (cheap, so the window stage dominates).</summary>
public sealed class WindowSink
{
    public long Results { get; private set; }

    public long SumOfCounts { get; private set; }

    /// <summary>Results that are not the first, on-time firing of their window (expected: none).</summary>
    public long Refirings { get; private set; }

    /// <summary>When set (validation only), every (key, start) → count.</summary>
    public Dictionary<(int Key, long Start), long>? Windows { get; init; }

    public void Add(WindowResult<int, long> result)
    {
        Results++;
        SumOfCounts += result.Value;
        if (result.Firing != WindowFiring.OnTime || result.FiringNumber != 1)
        {
            Refirings++;
        }

        Windows?.Add((result.Key, result.Start), result.Value);
    }

    /// <summary>A window of the hand-written loop.</summary>
    public void Add(int key, long start, long count)
    {
        Results++;
        SumOfCounts += count;
        Windows?.Add((key, start), count);
    }
}
