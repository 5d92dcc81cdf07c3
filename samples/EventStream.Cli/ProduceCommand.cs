using System.Diagnostics;
using System.Globalization;
using System.Text;
using EventStream.Redis.Streams;
using StackExchange.Redis;

namespace EventStream.Cli;

/// <summary><c>eventstream produce</c>: adds each non-blank line of an NDJSON file to a stream, one round trip per batch.</summary>
public static class ProduceCommand
{
    public static async Task<string> RunAsync(ProduceArguments args, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stderr);
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
            var redis = await WorkerCommand.Connect(args.Redis, args.Verbose ? stderr : null).ConfigureAwait(false);
            await using (redis.ConfigureAwait(false))
            {
                var producer = new RedisStreamProducer<object>(redis, new RedisStreamOptions { Stream = args.Stream });
                var batch = new List<string>(args.Batch);
                long read = 0, blank = 0, published = 0;
                var lines = new LineReader(reader);
                while (await lines.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
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
