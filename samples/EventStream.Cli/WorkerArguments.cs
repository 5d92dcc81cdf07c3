using System.Globalization;

namespace EventStream.Cli;

/// <summary>The arguments of <c>eventstream worker</c>.</summary>
public sealed record WorkerArguments : WindowedArguments
{
    public const string Usage =
        "usage: eventstream worker --redis CONFIG --stream KEY --group NAME --consumer NAME " +
        "--window tumbling:SIZE|sliding:SIZE:SLIDE|session:GAP --key PATH --agg count|sum:PATH|avg:PATH|min:PATH|max:PATH|distinct:PATH " +
        "--output PATH [--out-of-orderness DURATION] [--allowed-lateness DURATION] [--exit-when-idle DURATION] " +
        "[--claim-idle DURATION] [--max-deliveries N] [--batch N]";

    public const string Help = Usage + """


          --redis CONFIG               StackExchange.Redis configuration: HOST:PORT[,password=…,ssl=true,…]
          --stream KEY                 the input stream (entry field "event" = one event's JSON)
          --group NAME                 the consumer group: every worker of one computation uses the same group
          --consumer NAME              this worker's name, unique in the group
          --window, --key, --agg, --out-of-orderness, --allowed-lateness    as for 'eventstream window'
          --output PATH                NDJSON, the window results this worker fired: {"key","start","end","value","count"}
                                       (all results of the group are also in the stream es:{STREAM}:GROUP:results;
                                       with a hash tag in the key, es:{TAG}:STREAM:GROUP:results)
          --exit-when-idle DURATION    once the stream has had no new entries for that long and nothing is pending in
                                       the group, the input counts as complete: the remaining windows fire (once across
                                       the group) and the worker exits. Without it the worker runs until Ctrl+C.
          --claim-idle DURATION        claim entries another worker left pending this long (default 30s)
          --max-deliveries N           dead-letter an entry delivered this often without success (default 5)
          --batch N                    entries per read (default 1000)
        Unreadable entries and poison entries go to the dead-letter stream es:{STREAM}:GROUP:dead; late events to
        es:{STREAM}:GROUP:late. Exit codes: 0 done, 1 Redis or the output failed, 2 bad arguments.
        """;

    private static readonly string[] Required = ["--redis", "--stream", "--group", "--consumer", .. RequiredWindowOptions];
    private static readonly string[] Optional = [.. OptionalWindowOptions, "--exit-when-idle", "--claim-idle", "--max-deliveries", "--batch"];

    private WorkerArguments(IReadOnlyDictionary<string, string> values)
        : base(values)
    {
    }

    public required string Redis { get; init; }

    public required string Stream { get; init; }

    public required string Group { get; init; }

    public required string Consumer { get; init; }

    public TimeSpan? ExitWhenIdle { get; init; }

    public TimeSpan ClaimIdle { get; init; } = TimeSpan.FromSeconds(30);

    public int MaxDeliveries { get; init; } = 5;

    public int Batch { get; init; } = 1000;

    /// <summary>Parses the options after <c>worker</c> (<c>--name value</c> or <c>--name=value</c>).</summary>
    /// <exception cref="UsageException">An option is unknown, repeated, missing or has a bad value.</exception>
    public static WorkerArguments Parse(IReadOnlyList<string> args)
    {
        var values = CommandLine.Parse(args, Required, Optional);

        TimeSpan? Duration(string name) => values.TryGetValue(name, out var text) ? Durations.Parse(name, text) : null;
        int Number(string name, int fallback, int min, int max)
        {
            if (!values.TryGetValue(name, out var text))
            {
                return fallback;
            }

            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? n
                : throw new UsageException($"bad {name} '{text}': expected a whole number from {min} to {max}");
        }

        var idle = Duration("--exit-when-idle");
        if (idle is { } i && i <= TimeSpan.Zero)
        {
            throw new UsageException("bad --exit-when-idle: it must be longer than 0ms");
        }

        var claim = Duration("--claim-idle") ?? TimeSpan.FromSeconds(30);
        if (claim < TimeSpan.FromMilliseconds(10))
        {
            throw new UsageException("bad --claim-idle: it must be at least 10ms");
        }

        return new WorkerArguments(values)
        {
            Redis = values["--redis"],
            Stream = values["--stream"],
            Group = values["--group"],
            Consumer = values["--consumer"],
            ExitWhenIdle = idle,
            ClaimIdle = claim,
            MaxDeliveries = Number("--max-deliveries", 5, 1, 1_000_000),
            Batch = Number("--batch", 1000, 1, 10_000),
        };
    }
}
