using System.CommandLine;

namespace EventStream.Cli;

/// <summary>
/// What <c>eventstream window</c> and <c>eventstream worker</c> compute and where the results go: the window, key,
/// aggregate, out-of-orderness, allowed lateness and output options, parsed the same way for both.
/// </summary>
public abstract record WindowedArguments
{
    /// <summary>Reads the shared options from a parse without errors.</summary>
    /// <exception cref="UsageException">A value is bad.</exception>
    private protected WindowedArguments(ParseResult parse, WindowedOptions options)
    {
        Key = JsonPath.ParseKeyOption(parse.Required(options.Key));
        Window = WindowSpec.Parse(parse.Required(options.Window));
        Aggregate = AggregateSpec.Parse(parse.Required(options.Aggregate));
        OutOfOrderness = parse.Optional(options.OutOfOrderness) is { } ooo ? Durations.Parse("--out-of-orderness", ooo) : TimeSpan.Zero;
        AllowedLateness = parse.Optional(options.AllowedLateness) is { } lateness ? Durations.Parse("--allowed-lateness", lateness) : TimeSpan.Zero;
        Output = parse.Required(options.Output);
    }

    public WindowSpec Window { get; init; }

    public JsonPath Key { get; init; }

    public AggregateSpec Aggregate { get; init; }

    public TimeSpan OutOfOrderness { get; init; }

    public TimeSpan AllowedLateness { get; init; }

    public string Output { get; init; }

    /// <summary>The window stage's options these arguments ask for, the same for <c>window</c> and <c>worker</c>.</summary>
    internal WindowOptions<ParsedEvent, string> WindowOptions() => new()
    {
        Assigner = Window.ToAssigner(),
        Key = p => p.Key,
        Timestamp = p => p.Timestamp,
        OutOfOrderness = OutOfOrderness,
        AllowedLateness = AllowedLateness,
    };
}

/// <summary>The options of <see cref="WindowedArguments"/>, one set per command (the output's description differs).</summary>
internal sealed class WindowedOptions(string outputDescription)
{
    public const string AggregateDescription =
        "count | sum:PATH | avg:PATH | min:PATH | max:PATH | distinct:PATH | topk:K:PATH | percentiles:Q1,Q2,...:PATH. " +
        "sum and avg add doubles: a total beyond ±1.8E+308 cannot be written and is \"value\":null, and the summary on " +
        "stderr warns how many results (over how many keys) that happened to, naming the first key and window. " +
        "topk:K:PATH is the K most frequent values at PATH, [{\"item\",\"count\",\"error\"}, ...] most frequent first " +
        "(exact, error 0, while a window holds at most max(10K, 100) distinct values; past that the true count lies in " +
        "[count - error, count]). percentiles:0.5,0.95:PATH is {\"p50\":...,\"p95\":...} within 1 % of the exact values " +
        "(exact up to 64 values in a window; zero and negative values counted)";

    public Option<string> Window { get; } = CommandLineSyntax.Value("--window", "SPEC", "tumbling:SIZE | sliding:SIZE:SLIDE | session:GAP   durations: 250ms, 10s, 5m, 1h", required: true);

    public Option<string> Key { get; } = CommandLineSyntax.Value(
        "--key",
        "PATH",
        "dotted path into the event, e.g. data.url or source; a key that is not a string is its JSON text, so 42 and \"42\" (or null and \"null\") are one key",
        required: true);

    public Option<string> Aggregate { get; } = CommandLineSyntax.Value("--agg", "SPEC", AggregateDescription, required: true);

    public Option<string> Output { get; } = CommandLineSyntax.Value("--output", "PATH", outputDescription, required: true);

    public Option<string> OutOfOrderness { get; } = CommandLineSyntax.Value("--out-of-orderness", "DURATION", "how far out of order events may arrive (default 0ms)");

    public Option<string> AllowedLateness { get; } = CommandLineSyntax.Value("--allowed-lateness", "DURATION", "how long a fired window still takes late events, firing again (default 0ms)");
}
