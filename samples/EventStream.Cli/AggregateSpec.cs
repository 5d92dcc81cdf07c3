using System.Globalization;

namespace EventStream.Cli;

/// <summary>The parsed <c>--agg</c> value.</summary>
/// <param name="Kind">The aggregate.</param>
/// <param name="Path">The value's path (every aggregate but count).</param>
public sealed record AggregateSpec(AggregateKind Kind, JsonPath? Path)
{
    private const string Expected = "expected count, sum:PATH, avg:PATH, min:PATH, max:PATH, distinct:PATH, topk:K:PATH or percentiles:Q1,Q2,...:PATH";

    /// <summary>Gets how many items <c>topk</c> reports.</summary>
    public int K { get; init; }

    /// <summary>Gets the quantiles <c>percentiles</c> reports (each from 0 to 1), in the order given.</summary>
    public IReadOnlyList<double> Quantiles { get; init; } = [];

    /// <summary>
    /// Parses <c>count</c>, <c>sum:PATH</c>, <c>avg:PATH</c>, <c>min:PATH</c>, <c>max:PATH</c>, <c>distinct:PATH</c>,
    /// <c>topk:K:PATH</c> (K from 1 to 10,000) or <c>percentiles:Q1,Q2,...:PATH</c> (quantiles from 0 to 1, such as 0.5,0.95,0.999).
    /// </summary>
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
            "topk" => AggregateKind.TopK,
            "percentiles" => AggregateKind.Percentiles,
            _ => null,
        };
        if (kind is null || colon < 0)
        {
            throw new UsageException($"bad --agg '{text}': {Expected}");
        }

        var rest = text[(colon + 1)..];
        var k = 0;
        IReadOnlyList<double> quantiles = [];
        if (kind is AggregateKind.TopK or AggregateKind.Percentiles)
        {
            var second = rest.IndexOf(':', StringComparison.Ordinal);
            if (second < 0)
            {
                throw new UsageException(kind == AggregateKind.TopK
                    ? $"bad --agg '{text}': expected topk:K:PATH, such as topk:10:data.url"
                    : $"bad --agg '{text}': expected percentiles:Q1,Q2,...:PATH, such as percentiles:0.5,0.95:data.loadMs");
            }

            var parameter = rest[..second];
            rest = rest[(second + 1)..];
            if (kind == AggregateKind.TopK)
            {
                k = ParseK(text, parameter);
            }
            else
            {
                quantiles = ParseQuantiles(text, parameter);
            }
        }

        if (!JsonPath.TryParse(rest, out var path))
        {
            throw new UsageException($"bad --agg '{text}': '{rest}' is not a dotted path such as data.amount");
        }

        return new AggregateSpec(kind.Value, path) { K = k, Quantiles = quantiles };
    }

    /// <summary>The JSON key of a quantile: p and its percentage, shortest form (0.5 → p50, 0.999 → p99.9, 0 → p0).</summary>
    public static string Key(double quantile) =>
        "p" + ((decimal)quantile * 100).ToString("0.############", CultureInfo.InvariantCulture);

    private static int ParseK(string text, string parameter)
    {
        if (!int.TryParse(parameter, NumberStyles.None, CultureInfo.InvariantCulture, out var k) || k is < 1 or > 10_000)
        {
            throw new UsageException($"bad --agg '{text}': K '{parameter}' must be an integer from 1 to 10000");
        }

        return k;
    }

    private static double[] ParseQuantiles(string text, string parameter)
    {
        var quantiles = new List<double>();
        foreach (var part in parameter.Split(','))
        {
            if (!double.TryParse(part, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var q) || q > 1)
            {
                throw new UsageException($"bad --agg '{text}': quantile '{part}' must be a number from 0 to 1, such as 0.95 for p95");
            }

            if (quantiles.Any(other => Key(other) == Key(q)))
            {
                throw new UsageException($"bad --agg '{text}': quantile '{part}' is named twice ({Key(q)})");
            }

            quantiles.Add(q);
        }

        return [.. quantiles];
    }
}
