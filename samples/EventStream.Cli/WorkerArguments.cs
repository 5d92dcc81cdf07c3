using System.CommandLine;
using EventStream.Redis;
using System.Globalization;

namespace EventStream.Cli;

/// <summary>The arguments of <c>eventstream worker</c>.</summary>
public sealed record WorkerArguments : WindowedArguments
{
    private WorkerArguments(ParseResult parse, Syntax options)
        : base(parse, options.Windowed)
    {
    }

    public required string Redis { get; init; }

    /// <summary>Gets the partitioned execution options, checked.</summary>
    public required PartitionedOptions Options { get; init; }

    /// <summary>Gets a value indicating whether the client's diagnostics and Debug logs go to standard error.</summary>
    public bool Verbose { get; init; }

    /// <summary>The <c>worker</c> command; its action gets the arguments, all checked before anything connects.</summary>
    internal static Command CreateCommand(Func<WorkerArguments, CancellationToken, Task<int>> run)
    {
        var options = new Syntax();
        var command = new Command(
            "worker",
            "One worker of a windowed aggregation shared by several processes over Redis. Every worker reads the whole stream " +
            "and keeps the events of its partitions; each partition commits its window state, position, results, late events " +
            "and dead letters atomically, about once a second. Unreadable entries are dead-lettered. " +
            "Exit codes: 0 done, 1 Redis or the output failed, 2 bad arguments (checked before connecting).")
        {
            options.Redis,
            options.Stream,
            options.Group,
            options.Consumer,
            options.Windowed.Window,
            options.Windowed.Key,
            options.Windowed.Aggregate,
            options.Windowed.Output,
            options.Windowed.OutOfOrderness,
            options.Windowed.AllowedLateness,
            options.Partitions,
            options.Lease,
            options.ExitWhenIdle,
            options.Batch,
            options.Verbose,
        };
        command.SetAction((parse, cancellationToken) => run(Parse(parse, options), cancellationToken));
        return command;
    }

    /// <summary>Reads the arguments of a parse without errors, and checks them all before anything connects.</summary>
    /// <exception cref="UsageException">A value is bad.</exception>
    private static WorkerArguments Parse(ParseResult parse, Syntax o)
    {
        TimeSpan? Duration(Option<string> option) => parse.Optional(option) is { } text ? Durations.Parse(option.Name, text) : null;
        int Number(Option<string> option, int fallback, int min, int max)
        {
            if (parse.Optional(option) is not { } text)
            {
                return fallback;
            }

            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? n
                : throw new UsageException($"bad {option.Name} '{text}': expected a whole number from {min} to {max}");
        }

        var idle = Duration(o.ExitWhenIdle);
        if (idle is { } i && i <= TimeSpan.Zero)
        {
            throw new UsageException("bad --exit-when-idle: it must be longer than 0ms");
        }

        var lease = Duration(o.Lease) ?? TimeSpan.FromSeconds(10);
        if (lease < TimeSpan.FromMilliseconds(500))
        {
            throw new UsageException($"bad --lease '{parse.Optional(o.Lease)}': it must be at least 500ms");
        }

        var options = new PartitionedOptions
        {
            Stream = parse.Required(o.Stream),
            Group = parse.Required(o.Group),
            Consumer = parse.Required(o.Consumer),
            Partitions = Number(o.Partitions, 16, 1, 1024),
            Lease = lease,
            CommitInterval = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, lease.Ticks / 4)),
            ReadCount = Number(o.Batch, 1000, 1, 10_000),
            ExitWhenIdle = idle,
        };
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new UsageException(string.Join("; ", problems));
        }

        var parsed = new WorkerArguments(parse, o) { Redis = parse.Required(o.Redis), Options = options, Verbose = parse.GetValue(o.Verbose) };
        _ = parsed.Window.ToAssigner(); // the window the library would refuse is refused here, before connecting
        return parsed;
    }

    private sealed class Syntax
    {
        public WindowedOptions Windowed { get; } = new(
            "NDJSON, the committed results this worker delivered, written after their commit: " +
            "{\"key\",\"start\",\"end\",\"value\",\"count\",\"firing\",\"firingNumber\"} (firing: early, onTime or late). " +
            "All committed results: 'eventstream results'.");

        public Option<string> Redis { get; } = RedisOptions.Configuration();

        public Option<string> Stream { get; } = CommandLineSyntax.Value("--stream", "KEY", "the input stream (entry field \"event\" = one event's JSON; any client can add to it)", required: true);

        public Option<string> Group { get; } = CommandLineSyntax.Value("--group", "NAME", "the computation: every worker of one computation uses the same group", required: true);

        public Option<string> Consumer { get; } = CommandLineSyntax.Value("--consumer", "NAME", "this worker's name, unique in the group", required: true);

        public Option<string> Partitions { get; } = CommandLineSyntax.Value("--partitions", "N", "partitions of the computation (fixed at its first start; default 16)");

        public Option<string> Lease { get; } = CommandLineSyntax.Value("--lease", "DURATION", "how long a dead worker's partitions wait before another takes them (default 10s)");

        public Option<string> ExitWhenIdle { get; } = CommandLineSyntax.Value(
            "--exit-when-idle",
            "DURATION",
            "once the stream has had no new entry for that long and every partition has processed it to the end, the remaining " +
            "windows fire (once) and the worker exits; it does not exit while a partition has no live owner. Without it the worker " +
            "runs until Ctrl+C or SIGTERM, which commit and hand the partitions over.");

        public Option<string> Batch { get; } = CommandLineSyntax.Value("--batch", "N", "entries per read (default 1000)");

        public Option<bool> Verbose { get; } = RedisOptions.Verbose();
    }
}
