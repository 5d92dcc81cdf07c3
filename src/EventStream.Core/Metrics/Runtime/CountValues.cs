using System.Runtime.CompilerServices;

namespace EventStream.Metrics;

/// <summary>One value per <see cref="PipelineCount"/>, inline.</summary>
[InlineArray(Length)]
internal struct CountValues
{
    /// <summary>The number of counts: one per <see cref="PipelineCount"/> member.</summary>
    public const int Length = (int)PipelineCount.Discarded + 1;

    private long _first;
}
