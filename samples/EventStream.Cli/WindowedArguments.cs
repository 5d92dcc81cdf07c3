namespace EventStream.Cli;

/// <summary>
/// What <c>eventstream window</c> and <c>eventstream worker</c> compute and where the results go: the window, key,
/// aggregate, out-of-orderness, allowed lateness and output options, parsed the same way for both.
/// </summary>
public abstract record WindowedArguments
{
    /// <summary>The options every windowed command requires.</summary>
    protected static readonly string[] RequiredWindowOptions = ["--window", "--key", "--agg", "--output"];

    /// <summary>The options every windowed command may take.</summary>
    protected static readonly string[] OptionalWindowOptions = ["--out-of-orderness", "--allowed-lateness"];

    /// <summary>Reads the shared options from parsed command-line values.</summary>
    /// <exception cref="UsageException">A value is bad.</exception>
    protected WindowedArguments(IReadOnlyDictionary<string, string> values)
    {
        Key = JsonPath.ParseKeyOption(values["--key"]);
        Window = WindowSpec.Parse(values["--window"]);
        Aggregate = AggregateSpec.Parse(values["--agg"]);
        OutOfOrderness = values.TryGetValue("--out-of-orderness", out var ooo) ? Durations.Parse("--out-of-orderness", ooo) : TimeSpan.Zero;
        AllowedLateness = values.TryGetValue("--allowed-lateness", out var lateness) ? Durations.Parse("--allowed-lateness", lateness) : TimeSpan.Zero;
        Output = values["--output"];
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
