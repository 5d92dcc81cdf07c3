using System.Diagnostics;

namespace EventStream.Metrics;

/// <summary>
/// The counts one segment worker gathers without synchronisation while it runs a batch; it hands them to the
/// pipeline's <see cref="PipelineCounters"/> once per batch.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
internal sealed class WorkerCounts
{
    private CountValues _values;

    public long this[PipelineCount count] => _values[(int)count];

    public bool IsEmpty
    {
        get
        {
            foreach (var value in _values)
            {
                if (value != 0)
                {
                    return false;
                }
            }

            return true;
        }
    }

    public void Add(PipelineCount count, long n = 1) => _values[(int)count] += n;

    public void Clear() => _values = default;

    public override string ToString() => PipelineCounters.Describe(_values);
}
