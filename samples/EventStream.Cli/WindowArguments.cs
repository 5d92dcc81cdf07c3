namespace EventStream.Cli;

/// <summary>The arguments of <c>eventstream window</c>.</summary>
public sealed record WindowArguments : WindowedArguments
{
    public const string Usage =
        "usage: eventstream window --input PATH --window tumbling:SIZE|sliding:SIZE:SLIDE|session:GAP --key PATH " +
        "--agg count|sum:PATH|avg:PATH|min:PATH|max:PATH|distinct:PATH --output PATH --late PATH --dead-letter PATH " +
        "[--out-of-orderness DURATION] [--allowed-lateness DURATION]";

    public const string Help = Usage + """


          --input PATH                 NDJSON, one event per line: {"id","type","source","timestamp","data":{...}}
                                       (timestamp: integer epoch milliseconds)
          --window SPEC                tumbling:SIZE | sliding:SIZE:SLIDE | session:GAP   durations: 250ms, 10s, 5m, 1h
          --key PATH                   dotted path into the event, e.g. data.url or source; a key that is not a string
                                       is its JSON text, so 42 and "42" (or null and "null") are one key
          --agg SPEC                   count | sum:PATH | avg:PATH | min:PATH | max:PATH | distinct:PATH
          --out-of-orderness DURATION  how far out of order events may arrive (default 0ms)
          --allowed-lateness DURATION  how long a fired window still takes late events, firing again (default 0ms)
          --output PATH                NDJSON window results, one line per firing: {"key","start","end","value","count"}
          --late PATH                  NDJSON, the late events as they were read
          --dead-letter PATH           NDJSON, {"line","error"} for every line that cannot be used
        One of --output, --late and --dead-letter may be '-' (standard output). Exit codes: 0 done, 1 input or
        output failed, 2 bad arguments.
        """;

    private static readonly string[] Required = ["--input", .. RequiredWindowOptions, "--late", "--dead-letter"];

    private WindowArguments(IReadOnlyDictionary<string, string> values)
        : base(values)
    {
    }

    public required string Input { get; init; }

    public required string Late { get; init; }

    public required string DeadLetter { get; init; }

    /// <summary>Parses the options after <c>window</c> (<c>--name value</c> or <c>--name=value</c>).</summary>
    /// <exception cref="UsageException">An option is unknown, repeated, missing or has a bad value.</exception>
    public static WindowArguments Parse(IReadOnlyList<string> args)
    {
        var values = CommandLine.Parse(args, Required, OptionalWindowOptions);
        var parsed = new WindowArguments(values)
        {
            Input = values["--input"],
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
}
