using EventStream.Redis;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace EventStream.Cli;

/// <summary><c>eventstream produce</c>: adds each non-blank line of an NDJSON file to a stream, one round trip per batch.</summary>
public static class ProduceCommand
{
    /// <summary>How many refused lines are named on stderr; the summary counts them all.</summary>
    private const int MaxRefusalsNamed = 10;

    public static async Task<string> RunAsync(ProduceArguments args, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stderr);
        var started = Stopwatch.GetTimestamp();
        FileStream reader;
        try
        {
            reader = new FileStream(args.Input, new FileStreamOptions { BufferSize = 1 << 16, Options = FileOptions.SequentialScan });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new CliException(1, $"cannot read input '{args.Input}': {WindowCommand.OneLine(ex.Message)}");
        }

        using (reader)
        {
            var redis = await WorkerCommand.Connect(args.Redis, args.Verbose ? stderr : null).ConfigureAwait(false);
            await using (redis.ConfigureAwait(false))
            {
                var producer = new RedisStreamProducer<object>(redis, new RedisStreamOptions { Stream = args.Stream });
                var batch = new List<string>(args.Batch);
                long read = 0, blank = 0, refused = 0, published = 0;
                var lines = new LineReader(reader);
                while (await lines.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } input)
                {
                    read++;
                    if (input.Text is not { } line)
                    {
                        // Publishing it decoded would alter it (U+FFFD for each bad byte) and could merge two keys; a
                        // worker's dead letter could not show it as it was either. The first few are named here.
                        refused++;
                        if (refused <= MaxRefusalsNamed)
                        {
                            await stderr.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"eventstream produce: line {read} refused, not published: {input.Problem}")).ConfigureAwait(false);
                        }

                        continue;
                    }

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
                return string.Create(CultureInfo.InvariantCulture, $"eventstream produce: {read} lines read ({blank} blank, {refused} refused as not valid UTF-8): {published} published to '{args.Stream}' in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.00} s");
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
