namespace EventStream.Cli;

/// <summary>The aggregate the <c>window</c> command computes.</summary>
public enum AggregateKind
{
    Count,
    Sum,
    Average,
    Min,
    Max,
    Distinct,
    TopK,
    Percentiles,
}
