
namespace EventStream.Cli;

/// <summary>The parsed <c>--window</c> value.</summary>
/// <param name="Kind">tumbling, sliding or session.</param>
/// <param name="Size">The size (tumbling, sliding) or the gap (session).</param>
/// <param name="Slide">The slide (sliding only; equal to the size for tumbling).</param>
public sealed record WindowSpec(string Kind, TimeSpan Size, TimeSpan Slide)
{
    /// <summary>Parses <c>tumbling:SIZE</c>, <c>sliding:SIZE:SLIDE</c> or <c>session:GAP</c>.</summary>
    public static WindowSpec Parse(string text)
    {
        var parts = text.Split(':');
        switch (parts[0])
        {
            case "tumbling" when parts.Length == 2:
                {
                    var size = WindowDuration(text, parts[1], "size");
                    return new WindowSpec("tumbling", size, size);
                }

            case "sliding" when parts.Length == 3:
                {
                    var size = WindowDuration(text, parts[1], "size");
                    var slide = WindowDuration(text, parts[2], "slide");
                    if (slide > size)
                    {
                        throw new UsageException($"bad --window '{text}': the slide ({parts[2]}) must not be longer than the size ({parts[1]})");
                    }

                    return new WindowSpec("sliding", size, slide);
                }

            case "session" when parts.Length == 2:
                {
                    var gap = WindowDuration(text, parts[1], "gap");
                    return new WindowSpec("session", gap, gap);
                }

            default:
                throw new UsageException($"bad --window '{text}': expected tumbling:SIZE, sliding:SIZE:SLIDE or session:GAP (durations like 250ms, 10s, 5m, 1h)");
        }
    }

    /// <summary>The library's assigner for this spec.</summary>
    public WindowAssigner ToAssigner() => Kind switch
    {
        "tumbling" => WindowAssigner.Tumbling(Size),
        "sliding" => WindowAssigner.Sliding(Size, Slide),
        _ => WindowAssigner.Session(Size),
    };

    private static TimeSpan WindowDuration(string spec, string text, string what)
    {
        if (!Durations.TryParse(text, out var value, out var problem))
        {
            throw new UsageException($"bad --window '{spec}': {problem}");
        }

        if (value < TimeSpan.FromMilliseconds(1))
        {
            throw new UsageException($"bad --window '{spec}': the {what} must be at least 1ms");
        }

        return value;
    }
}
