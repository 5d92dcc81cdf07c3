using System.Globalization;

namespace EventStream.Cli;

/// <summary>Durations: a non-negative integer and a unit, <c>ms</c>, <c>s</c>, <c>m</c> or <c>h</c> (250ms, 10s, 5m, 1h).</summary>
public static class Durations
{
    private static readonly long MaxMilliseconds = TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerMillisecond;

    /// <summary>Parses a duration; on failure <paramref name="problem"/> says why.</summary>
    public static bool TryParse(string text, out TimeSpan value, out string problem)
    {
        value = default;
        problem = $"bad duration '{text}': expected an integer followed by ms, s, m or h (e.g. 250ms, 10s, 5m, 1h)";
        var digits = 0;
        while (digits < text.Length && char.IsAsciiDigit(text[digits]))
        {
            digits++;
        }

        long unit = text[digits..] switch
        {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => 0,
        };
        if (digits == 0 || unit == 0)
        {
            return false;
        }

        if (!long.TryParse(text.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count > MaxMilliseconds / unit)
        {
            problem = $"bad duration '{text}': too long";
            return false;
        }

        value = TimeSpan.FromMilliseconds(count * unit);
        return true;
    }

    /// <summary>Parses a duration or throws a <see cref="UsageException"/> naming the option.</summary>
    public static TimeSpan Parse(string option, string text) =>
        TryParse(text, out var value, out var problem) ? value : throw new UsageException($"bad {option}: {problem}");
}
