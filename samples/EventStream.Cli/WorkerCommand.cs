using EventStream.Redis;
using EventStream;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;

namespace EventStream.Cli;

/// <summary>
/// <c>eventstream worker</c>: one worker of a windowed aggregation partitioned over Redis — the same window stage as
/// <c>eventstream window</c>, run by <see cref="RedisPartitionedWorker{T}"/>. Its output file gets the committed
/// results of its partitions, after their commit.
/// </summary>
public static class WorkerCommand
{
    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    public static async Task<string> RunAsync(WorkerArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stderr);
        var started = Stopwatch.GetTimestamp();
        var redis = await Connect(args.Redis, args.Verbose ? stderr : null).ConfigureAwait(false);
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

            try
            {
                long written = 0;
                var overflows = new Overflows();
                void Write<TResult>(WindowResult<string, TResult> r, Action<TextWriter, TResult> value)
                {
                    overflows.Observe(r.Key, r.Start, r.End, r.Value);
                    Json.WriteResult(output, r.Key, r.Start, r.End, r.Value, r.Count, value, r.Firing, r.FiringNumber);
                    written++;
                    if (written % 256 == 0)
                    {
                        output.Flush(); // a killed worker loses at most what it had not flushed: the results streams hold them all
                    }
                }

                var worker = args.Aggregate.Kind switch
                {
                    AggregateKind.Count => Build(args, redis, Aggregates.Count<ParsedEvent>(), r => Write(r, Json.WriteNumber)),
                    AggregateKind.Sum => Build(args, redis, Aggregates.Sum<ParsedEvent>(p => p.Number), r => Write(r, Json.WriteNumber)),
                    AggregateKind.Average => Build(args, redis, Aggregates.Average<ParsedEvent>(p => p.Number), r => Write(r, Json.WriteNumber)),
                    AggregateKind.Min => Build(args, redis, Aggregates.Min<ParsedEvent>(p => p.Number), r => Write(r, Json.WriteNumber)),
                    AggregateKind.Max => Build(args, redis, Aggregates.Max<ParsedEvent>(p => p.Number), r => Write(r, Json.WriteNumber)),
                    AggregateKind.TopK => Build(args, redis, Aggregates.TopK<ParsedEvent, string>(args.Aggregate.K, p => p.Distinct!), r => Write(r, Json.WriteTopK)),
                    AggregateKind.Percentiles => Build(args, redis, Aggregates.Percentiles<ParsedEvent>(p => p.Number, [.. args.Aggregate.Quantiles]), r => Write(r, Json.WritePercentiles)),
                    _ => Build(args, redis, Aggregates.DistinctCount<ParsedEvent, string>(p => p.Distinct!), r => Write(r, Json.WriteNumber)),
                };

                PartitionedRunSummary summary;
                try
                {
                    summary = await worker.RunAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (InvalidOperationException ex)
                {
                    throw new CliException(2, WindowCommand.OneLine(ex.Message)); // another definition of the same computation
                }

                await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                return string.Create(CultureInfo.InvariantCulture, $"eventstream worker {args.Options.Consumer}: {summary.Windowed} windowed, {summary.Late} late, {summary.DeadLettered} dead-lettered, {summary.Results} results committed in {summary.Commits} commits, {summary.PartitionsLost} partitions lost, {summary.Outages} reconnects; {written} results written in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.00} s{overflows.Warning}");
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

    /// <summary>The worker's pipeline: read each entry's event as JSON, validate it as <c>eventstream window</c> does, window it; the sink gets committed results.</summary>
    private static RedisPartitionedWorker<JsonElement> Build<TAcc, TResult>(WorkerArguments args, IConnectionMultiplexer redis, IAggregator<ParsedEvent, TAcc, TResult> aggregate, Action<WindowResult<string, TResult>> sink)
    {
        var parser = new EventParser(args.Key, args.Aggregate);
        return PipelineBuilder.Create<JsonElement>("worker", o => o.Retry = RetryOptions.None)
            .Transform("parse", e => parser.TryParse(e.GetRawText(), out var parsed, out var error) ? parsed! : throw new FormatException(error))
            .Window("window", args.WindowOptions(), aggregate)
            .Sink("output", sink)
            .BuildPartitioned(redis, args.Options, new StderrLogger($"eventstream worker {args.Options.Consumer}", args.Verbose ? Microsoft.Extensions.Logging.LogLevel.Debug : Microsoft.Extensions.Logging.LogLevel.Information));
    }

    /// <summary>
    /// Connects to Redis. An unreachable Redis is one line naming the address and the first clause of the client's
    /// reason; with <paramref name="verbose"/> (--verbose) the client logs at Debug level to standard error (its
    /// connection steps, as its connection log has them) and the whole exception (message and details) is written first.
    /// </summary>
    internal static async Task<ConnectionMultiplexer> Connect(string configuration, TextWriter? verbose)
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
        if (verbose is not null)
        {
            options.LoggerFactory = new StderrLoggerFactory("eventstream redis", Microsoft.Extensions.Logging.LogLevel.Debug);
        }

        try
        {
            var redis = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
            await redis.GetDatabase().PingAsync().ConfigureAwait(false);
            return redis;
        }
        catch (RedisException ex)
        {
            if (verbose is not null)
            {
                await verbose.WriteLineAsync($"eventstream: the Redis client's diagnostics: {ex}").ConfigureAwait(false);
            }

            // StackExchange.Redis's message carries about a kilobyte of client diagnostics after its first clause.
            var reason = WindowCommand.OneLine(ex.Message).Split("; ", 2)[0].Split(", inst:", 2)[0];
            throw new CliException(1, $"cannot reach Redis at '{configuration}': {(reason.Length > 160 ? reason[..160] + "…" : reason)}{(verbose is null ? " (--verbose for details)" : "")}");
        }
    }
}
