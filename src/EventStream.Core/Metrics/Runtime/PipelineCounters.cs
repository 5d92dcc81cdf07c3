using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace EventStream.Metrics;

/// <summary>
/// The pipeline's counts, the one place they are defined: each <see cref="PipelineCount"/> is added here once and from
/// here goes to the snapshot (<see cref="CopyTo"/>), to its Meter counter (where it has one), and, for the counts that
/// finish events, to the throughput. The accounting every test enforces is <see cref="InFlight"/>.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
internal sealed class PipelineCounters
{
    // The Meter counter of each count, by PipelineCount; null for the counts that are in the snapshot only.
    private static readonly (string Name, string Unit, string Description)?[] MeterCounters = CreateMeterCounters();

    private readonly long[] _values = new long[CountValues.Length];
    private readonly Counter<long>?[] _counters = new Counter<long>?[CountValues.Length];
    private readonly KeyValuePair<string, object?> _tag;

    public PipelineCounters(PipelineInstruments instruments, ThroughputMeter throughput)
    {
        _tag = instruments.PipelineTag;
        Throughput = throughput;
        for (var i = 0; i < MeterCounters.Length; i++)
        {
            if (MeterCounters[i] is { } counter)
            {
                _counters[i] = instruments.Meter.CreateCounter<long>(counter.Name, counter.Unit, counter.Description);
            }
        }
    }

    /// <summary>Events finished per second (delivered, filtered, dead-lettered, late or windowed).</summary>
    public ThroughputMeter Throughput { get; }

    /// <summary>
    /// Events brought in (accepted, fanned out, replayed, window results) and not yet taken out (delivered, filtered,
    /// dead-lettered, late or windowed).
    /// </summary>
    public long InFlight
    {
        get
        {
            var values = default(CountValues);
            Read(values);
            return InFlightOf(values);
        }
    }

    public long this[PipelineCount count] => Volatile.Read(ref _values[(int)count]);

    /// <summary>Adds to one count at once (the producer doors, replay): the pipeline's value and the Meter alike.</summary>
    public void Add(PipelineCount count, long n)
    {
        if (n == 0)
        {
            return;
        }

        Interlocked.Add(ref _values[(int)count], n);
        _counters[(int)count]?.Add(n, _tag);
        if (IsFinish((int)count))
        {
            Throughput.Add(n);
        }
    }

    /// <summary>
    /// Adds what a worker gathered during a batch, and clears it. The counts that bring events in are added before the
    /// ones that take them out, so a concurrent <see cref="InFlight"/> never sees an event finish before it started.
    /// </summary>
    public void Publish(WorkerCounts counts)
    {
        long finished = 0;
        for (var i = 0; i < CountValues.Length; i++)
        {
            var n = counts[(PipelineCount)i];
            if (n == 0)
            {
                continue;
            }

            Interlocked.Add(ref _values[i], n);
            _counters[i]?.Add(n, _tag);
            if (IsFinish(i))
            {
                finished += n;
            }
        }

        Throughput.Add(finished);
        counts.Clear();
    }

    /// <summary>Writes the counts and the in-flight figure into a snapshot.</summary>
    public PipelineMetrics CopyTo(PipelineMetrics metrics)
    {
        var values = default(CountValues);
        Read(values);
        return metrics with
        {
            Accepted = values[(int)PipelineCount.Accepted],
            FannedOut = values[(int)PipelineCount.FannedOut],
            Replayed = values[(int)PipelineCount.Replayed],
            WindowResults = values[(int)PipelineCount.WindowResults],
            Delivered = values[(int)PipelineCount.Delivered],
            Filtered = values[(int)PipelineCount.Filtered],
            DeadLettered = values[(int)PipelineCount.DeadLettered],
            Late = values[(int)PipelineCount.Late],
            Duplicates = values[(int)PipelineCount.Duplicates],
            Windowed = values[(int)PipelineCount.Windowed],
            OtherPartitions = values[(int)PipelineCount.OtherPartitions],
            Rejected = values[(int)PipelineCount.Rejected],
            Retries = values[(int)PipelineCount.Retries],
            Discarded = values[(int)PipelineCount.Discarded],
            InFlight = Math.Max(0, InFlightOf(values)),
        };
    }

    public override string ToString()
    {
        var values = default(CountValues);
        Read(values);
        return Describe(values);
    }

    /// <summary>The one accounting formula: what came in minus what went out.</summary>
    private static long InFlightOf(ReadOnlySpan<long> values)
    {
        long inFlight = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (i <= (int)PipelineCount.WindowResults)
            {
                inFlight += values[i];
            }
            else if (IsFinish(i))
            {
                inFlight -= values[i];
            }
        }

        return inFlight;
    }

    private static bool IsFinish(int count) => count is >= (int)PipelineCount.Delivered and <= (int)PipelineCount.OtherPartitions;

    /// <summary>
    /// Reads every count, the ones that take events out first: a count racing the read can then only make in-flight
    /// larger, never negative (the writers add the other way round, see <see cref="Publish"/>).
    /// </summary>
    private void Read(Span<long> values)
    {
        for (var i = values.Length - 1; i >= 0; i--)
        {
            values[i] = Volatile.Read(ref _values[i]);
        }
    }

    /// <summary>The non-zero counts, for the debugger.</summary>
    internal static string Describe(ReadOnlySpan<long> values)
    {
        var parts = new List<string>();
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] != 0)
            {
                parts.Add($"{(PipelineCount)i} = {values[i]}");
            }
        }

        return parts.Count == 0 ? "(none)" : string.Join(", ", parts);
    }

    private static (string Name, string Unit, string Description)?[] CreateMeterCounters()
    {
        var counters = new (string Name, string Unit, string Description)?[CountValues.Length];
        counters[(int)PipelineCount.Accepted] = (EventStreamMeter.Accepted, "{event}", "Events admitted.");
        counters[(int)PipelineCount.Rejected] = (EventStreamMeter.Rejected, "{event}", "Events refused at the door.");
        counters[(int)PipelineCount.Filtered] = (EventStreamMeter.Filtered, "{event}", "Events filtered out.");
        counters[(int)PipelineCount.Delivered] = (EventStreamMeter.Delivered, "{event}", "Events delivered to a sink.");
        counters[(int)PipelineCount.DeadLettered] = (EventStreamMeter.DeadLettered, "{event}", "Events dead-lettered.");
        counters[(int)PipelineCount.Retries] = (EventStreamMeter.Retries, "{retry}", "Retries scheduled.");
        counters[(int)PipelineCount.Late] = (EventStreamMeter.Late, "{event}", "Late events (added to no window).");
        counters[(int)PipelineCount.Duplicates] = (EventStreamMeter.Duplicates, "{event}", "Duplicate events dropped by a deduplicate stage.");
        counters[(int)PipelineCount.Discarded] = (EventStreamMeter.Discarded, "{event}", "Dead letters discarded from the store.");
        return counters;
    }
}
