using EventStream.Redis;
using System.Globalization;

namespace EventStream.Cli;

/// <summary>The arguments of <c>eventstream worker</c>.</summary>
public sealed record WorkerArguments : WindowedArguments
{
    public const string Usage =
        "usage: eventstream worker --redis CONFIG --stream KEY --group NAME --consumer NAME " +
        "--window tumbling:SIZE|sliding:SIZE:SLIDE|session:GAP --key PATH --agg count|sum:PATH|avg:PATH|min:PATH|max:PATH|distinct:PATH " +
        "--output PATH [--out-of-orderness DURATION] [--allowed-lateness DURATION] [--partitions N] [--lease DURATION] " +
        "[--exit-when-idle DURATION] [--batch N]";

    public const string Help = Usage + """


          --redis CONFIG               StackExchange.Redis configuration: HOST:PORT[,password=…,ssl=true,…]
          --stream KEY                 the input stream (entry field "event" = one event's JSON; any client can add to it)
          --group NAME                 the computation: every worker of one computation uses the same group
          --consumer NAME              this worker's name, unique in the group
          --window, --key, --agg, --out-of-orderness, --allowed-lateness    as for 'eventstream window'
          --output PATH                NDJSON, the committed results this worker delivered, written after their commit:
                                       {"key","start","end","value","count","firing","firingNumber"} (firing: early,
                                       onTime or late). All committed results: 'eventstream results'.
          --partitions N               partitions of the computation (fixed at its first start; default 16)
          --lease DURATION             how long a dead worker's partitions wait before another takes them (default 10s)
          --exit-when-idle DURATION    once the stream has had no new entry for that long and every partition has
                                       processed it to the end, the remaining windows fire (once) and the worker exits;
                                       it does not exit while a partition has no live owner. Without it the worker runs
                                       until Ctrl+C or SIGTERM, which commit and hand the partitions over.
          --batch N                    entries per read (default 1000)
        Every worker reads the whole stream and keeps the events of its partitions; each partition commits its window
        state, position, results, late events and dead letters atomically, about once a second. Unreadable entries are
        dead-lettered. Exit codes: 0 done, 1 Redis or the output failed, 2 bad arguments (checked before connecting).
        """;

    private static readonly string[] Required = ["--redis", "--stream", "--group", "--consumer", .. RequiredWindowOptions];
    private static readonly string[] Optional = [.. OptionalWindowOptions, "--partitions", "--lease", "--exit-when-idle", "--batch"];

    private WorkerArguments(IReadOnlyDictionary<string, string> values)
        : base(values)
    {
    }

    public required string Redis { get; init; }

    /// <summary>Gets the partitioned execution options, checked.</summary>
    public required PartitionedOptions Options { get; init; }

    /// <summary>Parses the options after <c>worker</c> (<c>--name value</c> or <c>--name=value</c>), and checks them all before anything connects.</summary>
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

        var lease = Duration("--lease") ?? TimeSpan.FromSeconds(10);
        if (lease < TimeSpan.FromMilliseconds(500))
        {
            throw new UsageException($"bad --lease '{values["--lease"]}': it must be at least 500ms");
        }

        var options = new PartitionedOptions
        {
            Stream = values["--stream"],
            Group = values["--group"],
            Consumer = values["--consumer"],
            Partitions = Number("--partitions", 16, 1, 1024),
            Lease = lease,
            CommitInterval = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, lease.Ticks / 4)),
            ReadCount = Number("--batch", 1000, 1, 10_000),
            ExitWhenIdle = idle,
        };
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new UsageException(string.Join("; ", problems));
        }

        var parsed = new WorkerArguments(values) { Redis = values["--redis"], Options = options };
        _ = parsed.Window.ToAssigner(); // the window the library would refuse is refused here, before connecting
        return parsed;
    }
}
