using EventStream.Retry;

namespace EventStream;

/// <summary>Options of one stage. Anything left <see langword="null"/> inherits from <see cref="PipelineOptions"/>.</summary>
public sealed class StageOptions
{
    /// <summary>
    /// Gets or sets the capacity of the queue in front of this stage, in events. Enrich stages and sinks always have a
    /// queue in front of them (they are async); a transform, filter or fan-out stage gets one only when this is set —
    /// otherwise it runs fused in the loop of the stage before it, with no queue hop.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: <see cref="PipelineOptions.Capacity"/> where there is a queue.</value>
    public int? Capacity { get; set; }

    /// <summary>
    /// Gets or sets how many events an enrich stage handles at once (for I/O). Output order is kept. Only enrich stages
    /// accept a value above 1.
    /// </summary>
    /// <value>The default value is 1.</value>
    public int Parallelism { get; set; } = 1;

    /// <summary>Gets or sets the retry policy of this stage.</summary>
    /// <value>The default value is <see langword="null"/>: <see cref="PipelineOptions.Retry"/>.</value>
    public RetryOptions? Retry { get; set; }

    /// <summary>Gets or sets how long an async handler may take per event before the attempt counts as failed.</summary>
    /// <value>The default value is <see langword="null"/>: <see cref="PipelineOptions.Timeout"/>.</value>
    public TimeSpan? Timeout { get; set; }

    /// <summary>Gets or sets whether a <see langword="null"/> result is passed on instead of being dead-lettered.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool AllowNullResult { get; set; }

    internal StageOptions Clone()
    {
        var clone = (StageOptions)MemberwiseClone();
        clone.Retry = Retry?.Clone();
        return clone;
    }
}
