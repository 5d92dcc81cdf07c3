using EventStream.DeadLetters;
using EventStream.Metrics;

namespace EventStream.Internal;

/// <summary>What every running pipeline shares with its stages, whatever its input type.</summary>
#pragma warning disable CA1001 // The token source outlives the workers: abandoned handler calls may still observe its token, so it is never disposed.
internal abstract class PipelineCore
#pragma warning restore CA1001
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly List<Leftover> _leftovers = [];
    private readonly ThroughputMeter _throughput;
    private readonly LatencyRecorder _latency = new();
    private readonly string _idPrefix = Guid.NewGuid().ToString("N")[..8];
    private long _nextId;

    protected PipelineCore(string name, PipelineOptions options)
    {
        Name = name;
        Options = options;
        Time = options.TimeProvider;
        Store = options.DeadLetterStore ?? new InMemoryDeadLetterStore();
        Log = new PipelineLog(options.LoggerFactory, name);
        _throughput = new ThroughputMeter(Time, options.MetricsInterval);
        Instruments = new PipelineInstruments(this, options.MeterFactory);
    }

    public string Name { get; }

    public PipelineOptions Options { get; }

    public TimeProvider Time { get; }

    public IDeadLetterStore Store { get; }

    public PipelineLog Log { get; }

    public PipelineCounters Counters { get; } = new();

    public PipelineInstruments Instruments { get; }

    public CancellationToken Token => _cancel.Token;

    public IReadOnlyList<Segment> Segments { get; protected set; } = [];

    public IReadOnlyList<StageRuntime> Stages { get; protected set; } = [];

    public IReadOnlyList<OperatorBase> Operators { get; protected set; } = [];

    protected void Cancel() => _cancel.Cancel();

    public string NewDeadLetterId() => $"{Name}-{_idPrefix}-{Interlocked.Increment(ref _nextId):x}";

    public void Publish(ref LocalCounts counts)
    {
        var c = Counters;
        if (counts.Filtered != 0)
        {
            Interlocked.Add(ref c.Filtered, counts.Filtered);
        }

        if (counts.Delivered != 0)
        {
            Interlocked.Add(ref c.Delivered, counts.Delivered);
        }

        if (counts.DeadLettered != 0)
        {
            Interlocked.Add(ref c.DeadLettered, counts.DeadLettered);
        }

        if (counts.Retries != 0)
        {
            Interlocked.Add(ref c.Retries, counts.Retries);
        }

        if (counts.FannedOut != 0)
        {
            Interlocked.Add(ref c.FannedOut, counts.FannedOut);
        }

        // Window results before the events they came from, so a concurrent snapshot never sees negative in-flight.
        if (counts.WindowResults != 0)
        {
            Interlocked.Add(ref c.WindowResults, counts.WindowResults);
        }

        if (counts.Late != 0)
        {
            Interlocked.Add(ref c.Late, counts.Late);
        }

        if (counts.Windowed != 0)
        {
            Interlocked.Add(ref c.Windowed, counts.Windowed);
        }

        _throughput.Add(counts.Delivered + counts.Filtered + counts.DeadLettered + counts.Late + counts.Windowed);
        Instruments.Publish(counts);
        counts = default;
    }

    public void RecordLatency(long admittedAt, long events)
    {
        var ms = Time.GetElapsedTime(admittedAt).TotalMilliseconds;
        _latency.Record(ms, events);
        Instruments.Latency(ms);
    }

    public void AddLeftover(Leftover leftover)
    {
        lock (_leftovers)
        {
            _leftovers.Add(leftover);
        }
    }

    /// <summary>Records a dead letter. A wait for room is given up when the pipeline is cancelled, and the entry is then added past capacity.</summary>
    public async ValueTask RecordAsync(DeadLetterEntry entry)
    {
        try
        {
            await Store.AddAsync(entry, Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (Token.IsCancellationRequested)
        {
            await RecordUnboundedAsync(entry).ConfigureAwait(false);
        }
    }

    private ValueTask RecordUnboundedAsync(DeadLetterEntry entry)
    {
        if (Store is InMemoryDeadLetterStore memory)
        {
            memory.AddUnbounded(entry);
            return default;
        }

        return Store.AddAsync(entry, CancellationToken.None);
    }

    /// <summary>After all workers stopped on a cancellation: dead-letter everything still in flight.</summary>
    protected async Task DeadLetterLeftoversAsync()
    {
        foreach (var op in Operators)
        {
            op.Stop(); // window tickers too: nothing runs after a cancellation, with or without leftovers
            lock (_leftovers)
            {
                op.CollectLeftovers(_leftovers);
            }
        }

        Leftover[] all;
        lock (_leftovers)
        {
            all = [.. _leftovers];
            _leftovers.Clear();
        }

        if (all.Length == 0)
        {
            return;
        }

        var now = Time.GetUtcNow();
        foreach (var leftover in all)
        {
            await RecordUnboundedAsync(new DeadLetterEntry
            {
                Id = NewDeadLetterId(),
                Pipeline = Name,
                Stage = leftover.Stage.Name,
                Reason = DeadLetterReason.Canceled,
                ExceptionType = typeof(OperationCanceledException).FullName,
                Message = "The pipeline was cancelled while the event was in flight.",
                Attempts = leftover.Attempts,
                FirstFailure = now,
                LastFailure = now,
                Event = leftover.Item,
            }).ConfigureAwait(false);
        }

        var counts = new LocalCounts { DeadLettered = all.Length };
        Publish(ref counts); // counters, throughput and the Meter alike
        Log.Canceled(all.Length);
    }

    public PipelineMetrics Snapshot()
    {
        var c = Counters;
        var (p50, p95, p99) = _latency.Percentiles();
        var stages = new List<StageMetrics>(Stages.Count);
        foreach (var stage in Stages)
        {
            var ownsQueue = ReferenceEquals(stage.Segment.Head, stage);
            var watermark = stage.Watermark?.Invoke();
            stages.Add(new StageMetrics(
                stage.Name,
                KindName(stage.Kind),
                ownsQueue ? stage.Segment.QueueDepth : 0,
                ownsQueue ? stage.Segment.Capacity : null,
                stage.Retries,
                stage.DeadLettered)
            {
                Watermark = watermark is { } w && w != long.MinValue && w != long.MaxValue ? DateTimeOffset.FromUnixTimeMilliseconds(w) : null,
            });
        }

        // Read the finishing counts before the starting ones, so a concurrent snapshot never shows negative in-flight.
        var delivered = Volatile.Read(ref c.Delivered);
        var filtered = Volatile.Read(ref c.Filtered);
        var deadLettered = Volatile.Read(ref c.DeadLettered);
        var late = Volatile.Read(ref c.Late);
        var windowed = Volatile.Read(ref c.Windowed);
        var windowResults = Volatile.Read(ref c.WindowResults);
        var fannedOut = Volatile.Read(ref c.FannedOut);
        var replayed = Volatile.Read(ref c.Replayed);
        var accepted = Volatile.Read(ref c.Admitted);
        TimeSpan? watermarkLag = null;
        var nowMs = Time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var stage in Stages)
        {
            if (stage.Watermark?.Invoke() is { } w && w != long.MinValue && w != long.MaxValue)
            {
                var lag = TimeSpan.FromMilliseconds(Math.Max(0, nowMs - w));
                watermarkLag = watermarkLag is null || lag > watermarkLag ? lag : watermarkLag;
            }
        }

        return new PipelineMetrics
        {
            Pipeline = Name,
            Timestamp = Time.GetUtcNow(),
            Accepted = accepted,
            Rejected = Volatile.Read(ref c.Rejected),
            Filtered = filtered,
            Delivered = delivered,
            DeadLettered = deadLettered,
            Retries = Volatile.Read(ref c.Retries),
            Replayed = replayed,
            FannedOut = fannedOut,
            Late = late,
            Windowed = windowed,
            WindowResults = windowResults,
            WatermarkLag = watermarkLag,
            InFlight = Math.Max(0, accepted + fannedOut + replayed + windowResults - delivered - filtered - deadLettered - late - windowed),
            ThroughputPerSecond = _throughput.PerSecond(),
            LatencyP50 = p50,
            LatencyP95 = p95,
            LatencyP99 = p99,
            Stages = stages,
        };
    }

    /// <summary>Seconds until the in-flight count is likely back under the threshold, from the measured drain rate.</summary>
    public TimeSpan EstimateRetryAfter(long inFlight, int incoming)
    {
        var excess = inFlight + incoming - Options.BackpressureThreshold;
        var rate = _throughput.PerSecond();
        if (rate <= 0)
        {
            return TimeSpan.FromSeconds(1);
        }

        var seconds = Math.Max(excess, incoming) / rate;
        return TimeSpan.FromSeconds(Math.Clamp(seconds, 0.1, 60));
    }

    internal static string KindName(StageKind kind) => kind switch
    {
        StageKind.Transform => "transform",
        StageKind.Filter => "filter",
        StageKind.Enrich => "enrich",
        StageKind.FanOut => "fan-out",
        StageKind.Window => "window",
        _ => "sink",
    };
}
