using System.Diagnostics;
using System.Globalization;
using System.Text;
using EventStream.Redis.Streams;
using EventStream.Redis.Windowing;
using StackExchange.Redis;

namespace EventStream.Cli;

/// <summary>The arguments of <c>eventstream worker</c>.</summary>
public sealed record WorkerArguments
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
                                       (all results of the group are also in the stream es:{STREAM}:GROUP:results)
          --exit-when-idle DURATION    once the stream has had no new entries for that long and nothing is pending in
                                       the group, the input counts as complete: the remaining windows fire (once across
                                       the group) and the worker exits. Without it the worker runs until Ctrl+C.
          --claim-idle DURATION        claim entries another worker left pending this long (default 30s)
          --max-deliveries N           dead-letter an entry delivered this often without success (default 5)
          --batch N                    entries per read (default 1000)
        Unreadable entries and poison entries go to the dead-letter stream es:{STREAM}:GROUP:dead; late events to
        es:{STREAM}:GROUP:late. Exit codes: 0 done, 1 Redis or the output failed, 2 bad arguments.
        """;

    private static readonly string[] Required = ["--redis", "--stream", "--group", "--consumer", "--window", "--key", "--agg", "--output"];
    private static readonly string[] Optional = ["--out-of-orderness", "--allowed-lateness", "--exit-when-idle", "--claim-idle", "--max-deliveries", "--batch"];

    public required string Redis { get; init; }

    public required string Stream { get; init; }

    public required string Group { get; init; }

    public required string Consumer { get; init; }

    public required WindowSpec Window { get; init; }

    public required JsonPath Key { get; init; }

    public required AggregateSpec Aggregate { get; init; }

    public TimeSpan OutOfOrderness { get; init; }

    public TimeSpan AllowedLateness { get; init; }

    public required string Output { get; init; }

    public TimeSpan? ExitWhenIdle { get; init; }

    public TimeSpan ClaimIdle { get; init; } = TimeSpan.FromSeconds(30);

    public int MaxDeliveries { get; init; } = 5;

    public int Batch { get; init; } = 1000;

    public static WorkerArguments Parse(IReadOnlyList<string> args)
    {
        var values = CommandLine.Parse(args, Required, Optional);
        var key = JsonPath.ParseKeyOption(values["--key"]);

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

        return new WorkerArguments
        {
            Redis = values["--redis"],
            Stream = values["--stream"],
            Group = values["--group"],
            Consumer = values["--consumer"],
            Window = WindowSpec.Parse(values["--window"]),
            Key = key,
            Aggregate = AggregateSpec.Parse(values["--agg"]),
            OutOfOrderness = Duration("--out-of-orderness") ?? TimeSpan.Zero,
            AllowedLateness = Duration("--allowed-lateness") ?? TimeSpan.Zero,
            Output = values["--output"],
            ExitWhenIdle = idle,
            ClaimIdle = claim,
            MaxDeliveries = Number("--max-deliveries", 5, 1, 1_000_000),
            Batch = Number("--batch", 1000, 1, 10_000),
        };
    }
}

/// <summary>The arguments of <c>eventstream produce</c>.</summary>
public sealed record ProduceArguments
{
    public const string Usage = "usage: eventstream produce --redis CONFIG --stream KEY --input PATH [--batch N]";

    public const string Help = Usage + """


          --redis CONFIG   StackExchange.Redis configuration: HOST:PORT[,password=…,ssl=true,…]
          --stream KEY     the stream to add to; each non-blank line becomes one entry, field "event" = the line as is
          --input PATH     NDJSON file (lines are not validated here: the workers dead-letter bad ones with the reason)
          --batch N        entries per round trip (default 1000)
        Exit codes: 0 done, 1 the input or Redis failed, 2 bad arguments.
        """;

    public required string Redis { get; init; }

    public required string Stream { get; init; }

    public required string Input { get; init; }

    public int Batch { get; init; } = 1000;

    public static ProduceArguments Parse(IReadOnlyList<string> args)
    {
        var values = CommandLine.Parse(args, ["--redis", "--stream", "--input"], ["--batch"]);
        var batch = 1000;
        if (values.TryGetValue("--batch", out var text) && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out batch) || batch is < 1 or > 100_000))
        {
            throw new UsageException($"bad --batch '{text}': expected a whole number from 1 to 100000");
        }

        return new ProduceArguments { Redis = values["--redis"], Stream = values["--stream"], Input = values["--input"], Batch = batch };
    }
}

/// <summary><c>eventstream worker</c>: one worker of a windowed aggregation shared over Redis (<see cref="RedisWindowWorker{T}"/>).</summary>
public static class WorkerCommand
{
    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    public static async Task<string> RunAsync(WorkerArguments args, TextWriter stdout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        var started = Stopwatch.GetTimestamp();
        var redis = await Connect(args.Redis).ConfigureAwait(false);
        await using (redis.ConfigureAwait(false))
        {
            TextWriter output;
            try
            {
                output = args.Output == "-" ? stdout : new StreamWriter(new FileStream(args.Output, FileMode.Create, FileAccess.Write, FileShare.Read), Utf8, 1 << 16);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                throw new CliException(1, $"cannot write --output '{args.Output}': {WindowCommand.OneLine(ex.Message)}");
            }

            var parser = new EventParser(args.Key, args.Aggregate);
            var kind = args.Aggregate.Kind;
            var worker = new RedisWindowWorker<ParsedEvent>(redis, new RedisWindowOptions<ParsedEvent>
            {
                Stream = args.Stream,
                Group = args.Group,
                Consumer = args.Consumer,
                Assigner = args.Window.ToAssigner(),
                Aggregate = kind switch
                {
                    AggregateKind.Count => RedisWindowAggregate.Count,
                    AggregateKind.Sum => RedisWindowAggregate.Sum,
                    AggregateKind.Average => RedisWindowAggregate.Average,
                    AggregateKind.Min => RedisWindowAggregate.Min,
                    AggregateKind.Max => RedisWindowAggregate.Max,
                    _ => RedisWindowAggregate.DistinctCount,
                },
                Key = p => p.Key,
                Timestamp = p => p.Timestamp,
                Value = p => p.Number,
                DistinctValue = p => p.Distinct!,
                Deserialize = line => parser.TryParse(line, out var parsed, out var error) ? parsed! : throw new FormatException(error),
                OutOfOrderness = args.OutOfOrderness,
                AllowedLateness = args.AllowedLateness,
                CompleteWhenIdle = args.ExitWhenIdle,
                ClaimIdleTime = args.ClaimIdle,
                MaxDeliveries = args.MaxDeliveries,
                BatchSize = args.Batch,
            });

            long written = 0;
            var integral = kind is AggregateKind.Count or AggregateKind.Distinct;
            try
            {
                var summary = await worker.RunAsync(
                    async (results, ct) =>
                    {
                        foreach (var r in results)
                        {
                            Json.WriteResult(output, r.Key, r.Start, r.End, r.Value, r.Count, integral ? static (w, v) => Json.WriteNumber(w, (long)v) : static (w, v) => Json.WriteNumber(w, v));
                            written++;
                        }

                        // Flushed per batch: a killed worker loses at most what it had not yet written (the results
                        // stream holds them all).
                        await output.FlushAsync(ct).ConfigureAwait(false);
                    },
                    cancellationToken).ConfigureAwait(false);
                return string.Create(CultureInfo.InvariantCulture, $"eventstream worker {args.Consumer}: {summary.Windowed} windowed, {summary.Late} late, {summary.DeadLettered} dead-lettered, {summary.Claimed} claimed, {summary.Duplicates} duplicates skipped, {summary.Reconnects} reconnects; {written} results written in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.00} s");
            }
            catch (IOException ex)
            {
                throw new CliException(1, $"cannot write --output '{args.Output}': {WindowCommand.OneLine(ex.Message)}");
            }
            finally
            {
                if (!ReferenceEquals(output, stdout))
                {
                    await output.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    internal static async Task<ConnectionMultiplexer> Connect(string configuration)
    {
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(configuration);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException($"bad --redis '{configuration}': {ex.Message}");
        }

        options.AbortOnConnectFail = false; // keep trying while Redis restarts
        try
        {
            var redis = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
            await redis.GetDatabase().PingAsync().ConfigureAwait(false);
            return redis;
        }
        catch (RedisException ex)
        {
            throw new CliException(1, $"cannot reach Redis at '{configuration}': {WindowCommand.OneLine(ex.Message)}");
        }
    }
}

/// <summary><c>eventstream produce</c>: adds each non-blank line of an NDJSON file to a stream, one round trip per batch.</summary>
public static class ProduceCommand
{
    public static async Task<string> RunAsync(ProduceArguments args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        var started = Stopwatch.GetTimestamp();
        StreamReader reader;
        try
        {
            reader = new StreamReader(args.Input, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, new FileStreamOptions { BufferSize = 1 << 16, Options = FileOptions.SequentialScan });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new CliException(1, $"cannot read input '{args.Input}': {WindowCommand.OneLine(ex.Message)}");
        }

        using (reader)
        {
            var redis = await WorkerCommand.Connect(args.Redis).ConfigureAwait(false);
            await using (redis.ConfigureAwait(false))
            {
                var producer = new RedisStreamProducer<object>(redis, new RedisStreamOptions { Stream = args.Stream });
                var batch = new List<string>(args.Batch);
                long read = 0, blank = 0, published = 0;
                while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
                {
                    read++;
                    if (string.IsNullOrWhiteSpace(line))
                    {
                        blank++;
                        continue;
                    }

                    batch.Add(line);
                    if (batch.Count == args.Batch)
                    {
                        published += await Publish(producer, batch, cancellationToken).ConfigureAwait(false);
                    }
                }

                published += await Publish(producer, batch, cancellationToken).ConfigureAwait(false);
                return string.Create(CultureInfo.InvariantCulture, $"eventstream produce: {read} lines read ({blank} blank): {published} published to '{args.Stream}' in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.00} s");
            }
        }
    }

    private static async Task<int> Publish(RedisStreamProducer<object> producer, List<string> batch, CancellationToken cancellationToken)
    {
        try
        {
            var count = (await producer.PublishJsonAsync(batch, cancellationToken).ConfigureAwait(false)).Count;
            batch.Clear();
            return count;
        }
        catch (RedisException ex)
        {
            throw new CliException(1, $"cannot publish to Redis: {WindowCommand.OneLine(ex.Message)}");
        }
    }
}
