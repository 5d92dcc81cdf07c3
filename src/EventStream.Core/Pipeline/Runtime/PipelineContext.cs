using EventStream.DeadLetters;
using EventStream.Metrics;
using System.Diagnostics;

namespace EventStream;

/// <summary>
/// What every part of a running pipeline shares, whatever its types: its name and options, the clock, the cancellation,
/// the log, the counts and latency, the dead-letter recorder, and the events left over after a cancellation. It is made
/// first, and handed to every segment and stage through their constructors.
/// </summary>
[DebuggerDisplay("Pipeline {Name,nq}: {Counters,nq}")]
#pragma warning disable CA1001 // The token source outlives the workers: abandoned handler calls may still observe its token, so it is never disposed.
internal sealed class PipelineContext
#pragma warning restore CA1001
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly List<Leftover> _leftovers = [];

    public PipelineContext(string name, PipelineOptions options, Windowing.State.IWindowPartitionHost? partitioning = null)
    {
        Name = name;
        Partitioning = partitioning;
        Options = options;
        Time = options.TimeProvider;
        Log = new PipelineLog(options.LoggerFactory, name, Time);
        Instruments = new PipelineInstruments(name, options.MeterFactory);
        Counters = new PipelineCounters(Instruments, new ThroughputMeter(Time, options.MetricsInterval));
        Latency = new LatencyRecorder(Time, Instruments);
        DeadLetters = new DeadLetterRecorder(name, options.DeadLetterStore ?? new InMemoryDeadLetterStore(), Time, Log, _cancel.Token);
    }

    public string Name { get; }

    /// <summary>Gets the host of partitioned execution, or <see langword="null"/> in one process.</summary>
    public Windowing.State.IWindowPartitionHost? Partitioning { get; }

    public PipelineOptions Options { get; }

    public TimeProvider Time { get; }

    public PipelineLog Log { get; }

    public PipelineInstruments Instruments { get; }

    public PipelineCounters Counters { get; }

    public LatencyRecorder Latency { get; }

    public DeadLetterRecorder DeadLetters { get; }

    public CancellationToken Token => _cancel.Token;

    /// <summary>Gets or sets whether the pipeline is completing because its host stops, not because its input ended (windows then fire as <see cref="WindowFiring.Stopped"/>).</summary>
    public bool Stopping { get; set; }

    public void Cancel() => _cancel.Cancel();

    /// <summary>Events a cancelled worker still held; dead-lettered once every worker has stopped.</summary>
    public void AddLeftovers(List<Leftover> leftovers)
    {
        if (leftovers.Count == 0)
        {
            return;
        }

        lock (_leftovers)
        {
            _leftovers.AddRange(leftovers);
        }
    }

    public List<Leftover> TakeLeftovers()
    {
        lock (_leftovers)
        {
            var all = new List<Leftover>(_leftovers);
            _leftovers.Clear();
            return all;
        }
    }
}
