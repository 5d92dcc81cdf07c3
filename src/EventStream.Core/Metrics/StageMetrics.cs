namespace EventStream;

/// <summary>Metrics of one stage.</summary>
/// <param name="Name">The stage name.</param>
/// <param name="Kind">The stage kind: transform, filter, enrich, fan-out or sink.</param>
/// <param name="QueueDepth">Events waiting in the queue in front of the stage; 0 for a stage fused into the loop before it.</param>
/// <param name="Capacity">The queue's capacity, or <see langword="null"/> for a fused stage (no queue).</param>
/// <param name="Retries">Retries this stage scheduled.</param>
/// <param name="DeadLettered">Events this stage dead-lettered.</param>
public sealed record StageMetrics(string Name, string Kind, long QueueDepth, int? Capacity, long Retries, long DeadLettered)
{
    /// <summary>Gets the stage's watermark (window stages), or <see langword="null"/>.</summary>
    public DateTimeOffset? Watermark { get; init; }
}
