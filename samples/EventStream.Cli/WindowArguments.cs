using System.Globalization;
using EventStream.Windowing;

namespace EventStream.Cli;

/// <summary>Bad command-line arguments: the CLI prints the message on one line and exits with code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>The aggregate the <c>window</c> command computes.</summary>
public enum AggregateKind
{
    Count,
    Sum,
    Average,
    Min,
    Max,
    Distinct,
}

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

/// <summary>Parses <c>--name value</c> and <c>--name=value</c> options.</summary>
public static class CommandLine
{
    /// <summary>Parses options into a dictionary, checking that each is known, given once, with a value, and that every required one is there.</summary>
    /// <exception cref="UsageException">An option is unknown, repeated, missing or empty.</exception>
    public static Dictionary<string, string> Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> required, IReadOnlyCollection<string> optional)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string name, value;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                name = arg[..equals];
                value = arg[(equals + 1)..];
            }
            else
            {
                name = arg;
                value = "";
            }

            if (!required.Contains(name) && !optional.Contains(name))
            {
                throw new UsageException(arg.StartsWith('-') ? $"unknown option '{name}'" : $"unexpected argument '{arg}'");
            }

            if (equals <= 0)
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new UsageException($"{name} needs a value");
                }

                value = args[++i];
            }

            if (!values.TryAdd(name, value))
            {
                throw new UsageException($"{name} is given more than once");
            }
        }

        var missing = required.Where(r => !values.ContainsKey(r)).ToList();
        if (missing.Count > 0)
        {
            throw new UsageException($"missing required option{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)}");
        }

        foreach (var (name, value) in values)
        {
            if (value.Length == 0)
            {
                throw new UsageException($"{name} needs a value");
            }
        }

        return values;
    }
}

/// <summary>The arguments of <c>eventstream window</c>.</summary>
public sealed record WindowArguments
{
    public const string Usage =
        "usage: eventstream window --input PATH --window tumbling:SIZE|sliding:SIZE:SLIDE|session:GAP --key PATH " +
        "--agg count|sum:PATH|avg:PATH|min:PATH|max:PATH|distinct:PATH --output PATH --late PATH --dead-letter PATH " +
        "[--out-of-orderness DURATION] [--allowed-lateness DURATION]";

    public const string Help = Usage + """


          --input PATH                 NDJSON, one event per line: {"id","type","source","timestamp","data":{...}}
                                       (timestamp: integer epoch milliseconds)
          --window SPEC                tumbling:SIZE | sliding:SIZE:SLIDE | session:GAP   durations: 250ms, 10s, 5m, 1h
          --key PATH                   dotted path into the event, e.g. data.url or source
          --agg SPEC                   count | sum:PATH | avg:PATH | min:PATH | max:PATH | distinct:PATH
          --out-of-orderness DURATION  how far out of order events may arrive (default 0ms)
          --allowed-lateness DURATION  how long a fired window still takes late events, firing again (default 0ms)
          --output PATH                NDJSON window results, one line per firing: {"key","start","end","value","count"}
          --late PATH                  NDJSON, the late events as they were read
          --dead-letter PATH           NDJSON, {"line","error"} for every line that cannot be used
        One of --output, --late and --dead-letter may be '-' (standard output). Exit codes: 0 done, 1 input or
        output failed, 2 bad arguments.
        """;

    private static readonly string[] Required = ["--input", "--window", "--key", "--agg", "--output", "--late", "--dead-letter"];
    private static readonly string[] Optional = ["--out-of-orderness", "--allowed-lateness"];

    public required string Input { get; init; }

    public required WindowSpec Window { get; init; }

    public required JsonPath Key { get; init; }

    public required AggregateSpec Aggregate { get; init; }

    public TimeSpan OutOfOrderness { get; init; }

    public TimeSpan AllowedLateness { get; init; }

    public required string Output { get; init; }

    public required string Late { get; init; }

    public required string DeadLetter { get; init; }

    /// <summary>Parses the options after <c>window</c> (<c>--name value</c> or <c>--name=value</c>).</summary>
    /// <exception cref="UsageException">An option is unknown, repeated, missing or has a bad value.</exception>
    public static WindowArguments Parse(IReadOnlyList<string> args)
    {
        var values = CommandLine.Parse(args, Required, Optional);
        var key = JsonPath.ParseKeyOption(values["--key"]);

        var parsed = new WindowArguments
        {
            Input = values["--input"],
            Window = WindowSpec.Parse(values["--window"]),
            Key = key,
            Aggregate = AggregateSpec.Parse(values["--agg"]),
            OutOfOrderness = values.TryGetValue("--out-of-orderness", out var ooo) ? Durations.Parse("--out-of-orderness", ooo) : TimeSpan.Zero,
            AllowedLateness = values.TryGetValue("--allowed-lateness", out var lateness) ? Durations.Parse("--allowed-lateness", lateness) : TimeSpan.Zero,
            Output = values["--output"],
            Late = values["--late"],
            DeadLetter = values["--dead-letter"],
        };
        parsed.CheckFiles();
        return parsed;
    }

    /// <summary>The outputs must not overwrite the input nor each other; at most one of them is standard output.</summary>
    private void CheckFiles()
    {
        var outputs = new[] { ("--output", Output), ("--late", Late), ("--dead-letter", DeadLetter) };
        if (outputs.Count(o => o.Item2 == "-") > 1)
        {
            throw new UsageException("only one of --output, --late and --dead-letter may be '-' (standard output)");
        }

        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var input = FullPath("--input", Input);
        var files = outputs.Where(o => o.Item2 != "-").Select(o => (Option: o.Item1, Path: FullPath(o.Item1, o.Item2))).ToList();
        foreach (var (option, path) in files)
        {
            if (string.Equals(path, input, comparison))
            {
                throw new UsageException($"{option} '{path}' is the input file; it would be overwritten");
            }
        }

        for (var i = 0; i < files.Count; i++)
        {
            for (var j = i + 1; j < files.Count; j++)
            {
                // Devices such as /dev/null may be shared.
                if (string.Equals(files[i].Path, files[j].Path, comparison) && !files[i].Path.StartsWith("/dev/", StringComparison.Ordinal))
                {
                    throw new UsageException($"{files[i].Option} and {files[j].Option} name the same file '{files[i].Path}'");
                }
            }
        }
    }

    private static string FullPath(string option, string path)
    {
        try
        {
            return Path.GetFullPath(path);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new UsageException($"bad {option} '{path}': {ex.Message}");
        }
    }
}
