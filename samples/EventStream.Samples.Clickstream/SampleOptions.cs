using System.Globalization;

namespace EventStream.Samples.Clickstream;

/// <summary>The command line: how long to generate traffic and how fast.</summary>
internal sealed record SampleOptions(TimeSpan Duration, int Rate, bool ShowHelp)
{
    public static readonly SampleOptions Default = new(TimeSpan.FromSeconds(12), 20_000, ShowHelp: false);

    public const string Usage = """
        EventStream clickstream sample: generates page-view traffic for four web sites, counts views per URL and
        minute on the in-memory backend, and shows the pipeline's metrics live. Bot traffic is filtered, malformed
        events are dead-lettered (and replayed once the parser is fixed), a flaky geo lookup is retried.

        Usage:
          dotnet run --project samples/EventStream.Samples.Clickstream -c Release [-- options]

        Options:
          --duration <time>   how long to generate traffic: 12s, 90s, 2m, 500ms (default: 12s)
          --rate <n>          page views per second to offer (default: 20000)
          -h, --help          show this help

        Ctrl+C stops the traffic early; the pipeline still drains and the summary is printed.
        Exit code: 0 when every accepted event is accounted for, 1 when not, 2 for bad options.
        """;

    /// <summary>Parses the arguments; on failure returns <see langword="null"/> and says why.</summary>
    public static SampleOptions? Parse(string[] args, out string? error)
    {
        var options = Default;
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help" or "-?" or "/?")
            {
                return options with { ShowHelp = true };
            }

            // Both "--rate 5000" and "--rate=5000".
            var (name, value) = arg.Split('=', 2) is [var n, var v] ? (n, v) : (arg, i + 1 < args.Length ? args[++i] : null);
            switch (name)
            {
                case "--duration" when TryParseDuration(value, out var duration) && duration > TimeSpan.Zero:
                    options = options with { Duration = duration };
                    break;
                case "--rate" when int.TryParse(value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var rate) && rate > 0:
                    options = options with { Rate = rate };
                    break;
                case "--duration" or "--rate":
                    error = $"invalid value for {name}: '{value}'";
                    return null;
                default:
                    error = $"unknown option '{arg}'";
                    return null;
            }
        }

        return options;
    }

    /// <summary>Reads "500ms", "30s", "2m", a bare number of seconds, or a TimeSpan such as "00:01:30".</summary>
    private static bool TryParseDuration(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        (string Suffix, Func<double, TimeSpan> Make)[] units =
        [
            ("ms", TimeSpan.FromMilliseconds), ("s", TimeSpan.FromSeconds), ("m", TimeSpan.FromMinutes), ("", TimeSpan.FromSeconds),
        ];
        foreach (var (suffix, make) in units)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                && number is > 0 and < 1e6)
            {
                duration = make(number);
                return true;
            }
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration);
    }
}
