using EventStream.DeadLetters;

namespace EventStream;

/// <summary>What the pipeline asks of a stage's operator, whatever its types: replay into it, and its watermark.</summary>
internal interface IStageOperator
{
    StageRuntime Stage { get; }

    /// <summary>The stage's watermark in epoch ms (window stages), or <see langword="null"/>.</summary>
    long? Watermark { get; }

    /// <summary>Re-enters a dead-lettered event at this stage; <see langword="false"/> when its type does not fit or the segment has finished.</summary>
    bool TryReplay(object? item, ReplayTicket ticket);
}
