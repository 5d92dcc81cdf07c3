using EventStream.Redis;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EventStream.Cli;

/// <summary><c>eventstream results</c>: writes a partitioned computation's committed results as NDJSON.</summary>
public static class ResultsCommand
{
    public static async Task<string> RunAsync(ResultsArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stderr);
        var started = Stopwatch.GetTimestamp();
        var redis = await WorkerCommand.Connect(args.Redis, args.Verbose ? stderr : null).ConfigureAwait(false);
        await using (redis.ConfigureAwait(false))
        {
            TextWriter output;
            try
            {
                output = args.Output == "-" ? stdout : new StreamWriter(new FileStream(args.Output, FileMode.Create, FileAccess.Write, FileShare.Read), new UTF8Encoding(false), 1 << 16);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                throw new CliException(1, $"cannot write --output '{args.Output}': {WindowCommand.OneLine(ex.Message)}");
            }

            long written = 0;
            try
            {
                await foreach (var line in RedisPartitionedPipeline.ReadResultsAsync(redis, new PartitionedOptions { Stream = args.Stream, Group = args.Group }, cancellationToken).ConfigureAwait(false))
                {
                    await output.WriteAsync(Normalise(line)).ConfigureAwait(false);
                    await output.WriteAsync('\n').ConfigureAwait(false);
                    written++;
                }

                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException ex)
            {
                throw new CliException(1, WindowCommand.OneLine(ex.Message));
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

            return string.Create(CultureInfo.InvariantCulture, $"eventstream results: {written} results of '{args.Stream}' (group '{args.Group}') written in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.00} s");
        }
    }

    /// <summary>A committed result in the CLI's own number format (an overflowing sum is null, as <c>window</c> writes it).</summary>
    private static string Normalise(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var r = doc.RootElement;
        var value = r.GetProperty("value");
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        Json.WriteResult(
            text,
            r.GetProperty("key").GetString() ?? string.Empty,
            r.GetProperty("start").GetInt64(),
            r.GetProperty("end").GetInt64(),
            value,
            r.GetProperty("count").GetInt64(),
            static (w, v) =>
            {
                if (v.ValueKind == JsonValueKind.Number)
                {
                    w.Write(v.GetRawText());
                }
                else
                {
                    w.Write("null");
                }
            },
            Enum.Parse<WindowFiring>(r.GetProperty("firing").GetString()!, ignoreCase: true),
            r.GetProperty("firingNumber").GetInt32());
        return text.ToString().TrimEnd('\n');
    }
}
