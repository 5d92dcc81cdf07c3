namespace EventStream.Cli;

/// <summary>The parsed <c>--agg</c> value.</summary>
/// <param name="Kind">The aggregate.</param>
/// <param name="Path">The value's path (every aggregate but count).</param>
public sealed record AggregateSpec(AggregateKind Kind, JsonPath? Path)
{
    /// <summary>Parses <c>count</c>, <c>sum:PATH</c>, <c>avg:PATH</c>, <c>min:PATH</c>, <c>max:PATH</c> or <c>distinct:PATH</c>.</summary>
    public static AggregateSpec Parse(string text)
    {
        if (text == "count")
        {
            return new AggregateSpec(AggregateKind.Count, null);
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? text : text[..colon];
        AggregateKind? kind = name switch
        {
            "sum" => AggregateKind.Sum,
            "avg" => AggregateKind.Average,
            "min" => AggregateKind.Min,
            "max" => AggregateKind.Max,
            "distinct" => AggregateKind.Distinct,
            _ => null,
        };
        if (kind is null || colon < 0)
        {
            throw new UsageException($"bad --agg '{text}': expected count, sum:PATH, avg:PATH, min:PATH, max:PATH or distinct:PATH");
        }

        if (!JsonPath.TryParse(text[(colon + 1)..], out var path))
        {
            throw new UsageException($"bad --agg '{text}': '{text[(colon + 1)..]}' is not a dotted path such as data.amount");
        }

        return new AggregateSpec(kind.Value, path);
    }
}
