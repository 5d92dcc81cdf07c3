using System.Diagnostics;
using System.Globalization;
using System.Text;
using EventStream.Redis.Windowing;
using StackExchange.Redis;

namespace EventStream.Cli;

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
