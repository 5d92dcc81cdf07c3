using System.CommandLine;

namespace EventStream.Cli;

/// <summary>The arguments of <c>eventstream window</c>.</summary>
public sealed record WindowArguments : WindowedArguments
{
    private WindowArguments(ParseResult parse, Syntax options)
        : base(parse, options.Windowed)
    {
    }

    public required string Input { get; init; }

    public required string Late { get; init; }

    public required string DeadLetter { get; init; }

    /// <summary>The <c>window</c> command; its action gets the checked arguments.</summary>
    internal static Command CreateCommand(Func<WindowArguments, CancellationToken, Task<int>> run)
    {
        var options = new Syntax();
        var command = new Command(
            "window",
            "Event-time windows over an NDJSON file in one process: results, late events and dead letters are written as they come. " +
            "One of --output, --late and --dead-letter may be '-' (standard output). Exit codes: 0 done, 1 input or output failed, 2 bad arguments.")
        {
            options.Input,
            options.Windowed.Window,
            options.Windowed.Key,
            options.Windowed.Aggregate,
            options.Windowed.Output,
            options.Late,
            options.DeadLetter,
            options.Windowed.OutOfOrderness,
            options.Windowed.AllowedLateness,
        };
        command.SetAction((parse, cancellationToken) => run(Parse(parse, options), cancellationToken));
        return command;
    }

    /// <summary>Reads and checks the arguments of a parse without errors.</summary>
    /// <exception cref="UsageException">A value is bad, or the outputs would overwrite the input or each other.</exception>
    private static WindowArguments Parse(ParseResult parse, Syntax options)
    {
        var parsed = new WindowArguments(parse, options)
        {
            Input = parse.Required(options.Input),
            Late = parse.Required(options.Late),
            DeadLetter = parse.Required(options.DeadLetter),
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
            if (FileIdentity.Same(path, input, comparison))
            {
                throw new UsageException($"{option} '{path}' is the input file; it would be overwritten");
            }
        }

        for (var i = 0; i < files.Count; i++)
        {
            for (var j = i + 1; j < files.Count; j++)
            {
                // Devices such as /dev/null may be shared.
                if (!files[i].Path.StartsWith("/dev/", StringComparison.Ordinal) && FileIdentity.Same(files[i].Path, files[j].Path, comparison))
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

    private sealed class Syntax
    {
        public WindowedOptions Windowed { get; } = new("NDJSON window results, one line per firing: {\"key\",\"start\",\"end\",\"value\",\"count\"}");

        public Option<string> Input { get; } = CommandLineSyntax.Value(
            "--input",
            "PATH",
            "NDJSON, one event per line: {\"id\",\"type\",\"source\",\"timestamp\",\"data\":{...}} (timestamp: integer epoch milliseconds)",
            required: true);

        public Option<string> Late { get; } = CommandLineSyntax.Value("--late", "PATH", "NDJSON, the late events as they were read", required: true);

        public Option<string> DeadLetter { get; } = CommandLineSyntax.Value(
            "--dead-letter",
            "PATH",
            "NDJSON, {\"line\",\"error\"} for every line that cannot be used; the line is written as it was read, so a line that is not valid UTF-8 keeps its bytes (and that dead letter is not valid UTF-8 either)",
            required: true);
    }
}
