
namespace EventStream;

/// <summary>Options of one stage. Anything left <see langword="null"/> inherits from <see cref="PipelineOptions"/>.</summary>
public sealed class StageOptions
{
    /// <summary>
    /// Gets or sets the capacity of a queue in front of this stage, in events. Setting it starts a new segment here: the
    /// stage and those chained after it run in a loop of their own, on their own worker, fed through a bounded queue —
    /// use it to run a slow sink or an expensive stage concurrently with the stages before it. Left unset, the stage is
    /// chained into the loop of the stage before it (no queue hop, no thread hand-off), except an enrich stage with
    /// <see cref="Parallelism"/> above 1, which always gets a queue. The first stage's queue is the pipeline's input.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: chained; <see cref="PipelineOptions.Capacity"/> where a queue is made anyway.</value>
    public int? Capacity { get; set; }

    /// <summary>
    /// Gets or sets how many events an enrich stage handles at once (for I/O). Output order is kept. Only enrich stages
    /// accept a value above 1, and such a stage runs behind a queue of its own.
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
