using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace EventStream.Cli;

/// <summary>A failure the CLI reports on one line with an exit code (1: the input or an output failed).</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>What a run of <c>eventstream window</c> did. <c>LinesRead = Blank + DeadLettered + Windowed + Late</c>.</summary>
/// <param name="OverflowWarning">Empty, or the warning that some sums overflowed (see <see cref="Overflows"/>).</param>
public sealed record WindowSummary(long LinesRead, long Blank, long Windowed, long Late, long DeadLettered, long ResultsWritten, TimeSpan Elapsed, string OverflowWarning = "")
{
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"eventstream window: {LinesRead} lines read ({Blank} blank): {Windowed} windowed, {Late} late, {DeadLettered} dead-lettered; {ResultsWritten} results written in {Elapsed.TotalSeconds:0.00} s{OverflowWarning}");
}

/// <summary>
/// <c>eventstream window</c>: reads NDJSON events line by line, validates each, and streams the usable ones through a
/// window stage; results, late events and dead letters are written as they come. Memory does not grow with the input:
/// the reader waits while the pipeline's bounded queue is full, and the window stage keeps accumulators, not events.
/// </summary>
public static class WindowCommand
{
    private const int BatchSize = 512;
    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Runs the command. Throws <see cref="CliException"/> when the input cannot be read or an output cannot be written.</summary>
    public static async Task<WindowSummary> RunAsync(WindowArguments args, TextWriter stdout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        var started = Stopwatch.GetTimestamp();

        // The input is opened first and every output checked, so a missing input or an output that cannot be created
        // leaves no output file behind.
        using var reader = OpenInput(args.Input);
        Outputs.Check("--output", args.Output);
        Outputs.Check("--late", args.Late);
        Outputs.Check("--dead-letter", args.DeadLetter);
        await using var outputs = new Outputs();
        var output = outputs.Open("--output", args.Output, stdout);
        var late = outputs.Open("--late", args.Late, stdout);
        var deadLetter = outputs.Open("--dead-letter", args.DeadLetter, stdout);

        var run = args.Aggregate.Kind switch
        {
            AggregateKind.Count => new Run<long, long>(args, Aggregates.Count<ParsedEvent>(), Json.WriteNumber, output, late),
            AggregateKind.Sum => new Run<SumAccumulator, double>(args, Aggregates.Sum<ParsedEvent>(p => p.Number), Json.WriteNumber, output, late),
            AggregateKind.Average => new Run<SumAccumulator, double>(args, Aggregates.Average<ParsedEvent>(p => p.Number), Json.WriteNumber, output, late),
            AggregateKind.Min => new Run<double, double>(args, Aggregates.Min<ParsedEvent>(p => p.Number), Json.WriteNumber, output, late),
            AggregateKind.Max => new Run<double, double>(args, Aggregates.Max<ParsedEvent>(p => p.Number), Json.WriteNumber, output, late),
            AggregateKind.TopK => new Run<TopKSummary<string>, IReadOnlyList<TopKItem<string>>>(args, Aggregates.TopK<ParsedEvent, string>(args.Aggregate.K, p => p.Distinct!), Json.WriteTopK, output, late),
            AggregateKind.Percentiles => new Run<QuantileSketch, IReadOnlyDictionary<double, double>>(args, Aggregates.Percentiles<ParsedEvent>(p => p.Number, [.. args.Aggregate.Quantiles]), Json.WritePercentiles, output, late),
            _ => (IRun)new Run<DistinctCounter, long>(args, Aggregates.DistinctCount<ParsedEvent, string>(p => p.Distinct!), Json.WriteNumber, output, late),
        };
        await using (run.ConfigureAwait(false))
        {
            var parser = new EventParser(args.Key, args.Aggregate);
            var lines = new LineReader(reader);
            var batch = new ParsedEvent[BatchSize];
            var count = 0;
            long read = 0, blank = 0, dead = 0;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                InputLine? next;
                try
                {
                    next = lines.ReadLine();
                }
                catch (IOException ex)
                {
                    throw new CliException(1, $"cannot read input '{args.Input}' (after line {read}): {ex.Message}");
                }

                if (next is not { } input)
                {
                    break;
                }

                read++;
                if (input.Text is not { } line)
                {
                    // Not valid UTF-8: dead-lettered with its bytes as read, not decoded into another key.
                    dead++;
                    outputs.Guard(deadLetter, _ => deadLetter.WriteDeadLetter(input.Bytes!, input.Problem));
                }
                else if (string.IsNullOrWhiteSpace(line))
                {
                    blank++;
                }
                else if (parser.TryParse(line, out var parsed, out var error))
                {
                    batch[count++] = parsed!;
                    if (count == batch.Length)
                    {
                        await run.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                        count = 0;
                    }
                }
                else
                {
                    dead++;
                    outputs.Guard(deadLetter, _ => deadLetter.WriteDeadLetter(line, error));
                }

                outputs.ThrowIfFailed(); // a full disk stops the run instead of losing lines
            }

            await run.WriteAsync(batch.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
            var (windowed, lateCount, results, overflows) = await run.CompleteAsync(cancellationToken).ConfigureAwait(false);
            await outputs.CloseAsync().ConfigureAwait(false);

            var summary = new WindowSummary(read, blank, windowed, lateCount, dead, results, Stopwatch.GetElapsedTime(started), overflows.Warning);
            if (read != blank + dead + windowed + lateCount)
            {
                throw new CliException(1, $"accounting mismatch, lines lost: {summary}");
            }

            return summary;
        }
    }

    private static FileStream OpenInput(string path)
    {
        if (Directory.Exists(path))
        {
            throw new CliException(1, $"cannot read input '{path}': it is a directory");
        }

        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new CliException(1, $"cannot read input '{path}': {OneLine(ex.Message)}");
        }
    }

    internal static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private interface IRun : IAsyncDisposable
    {
        ValueTask WriteAsync(ReadOnlyMemory<ParsedEvent> events, CancellationToken cancellationToken);

        Task<(long Windowed, long Late, long Results, Overflows Overflows)> CompleteAsync(CancellationToken cancellationToken);
    }

    /// <summary>The pipeline for one aggregate: window stage → sink writing result lines; late events to the late file.</summary>
    private sealed class Run<TAcc, TResult> : IRun
    {
        private readonly IEventPipeline<ParsedEvent> _pipeline;
        private readonly Overflows _overflows = new();
        private long _results;

        public Run(WindowArguments args, IAggregator<ParsedEvent, TAcc, TResult> aggregate, Action<TextWriter, TResult> writeValue, Output output, Output late)
        {
            // The sink and the late output run on the pipeline's one worker, so each file has a single writer.
            var window = args.WindowOptions();
            window.LateOutput = (p, _) =>
            {
                late.Owner.Guard(late, w =>
                {
                    w.Write(p.Line);
                    w.Write('\n');
                });
                return default;
            };
            _pipeline = PipelineBuilder.Create<ParsedEvent>("window", o =>
                {
                    o.Capacity = 10_000;
                    o.BatchSize = BatchSize;
                    o.Retry = RetryOptions.None;
                })
                .Window("window", window, aggregate)
                .Sink("output", (WindowResult<string, TResult> r) =>
                {
                    _results++;
                    _overflows.Observe(r.Key, r.Start, r.End, r.Value);
                    output.Owner.Guard(output, w => Json.WriteResult(w, r.Key, r.Start, r.End, r.Value, r.Count, writeValue));
                })
                .Build();
        }

        public ValueTask WriteAsync(ReadOnlyMemory<ParsedEvent> events, CancellationToken cancellationToken) =>
            events.IsEmpty ? default : _pipeline.WriteBatchAsync(events, cancellationToken);

        public async Task<(long Windowed, long Late, long Results, Overflows Overflows)> CompleteAsync(CancellationToken cancellationToken)
        {
            // Completion is the end of the input: the watermark goes to +∞ and every window still open fires.
            await _pipeline.CompleteAsync(cancellationToken).ConfigureAwait(false);
            var metrics = _pipeline.GetMetrics();
            if (metrics.DeadLettered != 0)
            {
                var first = await _pipeline.DeadLetters.ListAsync(_pipeline.Name, 1, cancellationToken).ConfigureAwait(false);
                throw new CliException(1, $"{metrics.DeadLettered} events failed in the pipeline: {OneLine(first.Count > 0 ? first[0].Message ?? "" : "")}");
            }

            if (metrics.WindowResults != _results || metrics.Delivered != _results)
            {
                throw new CliException(1, $"{metrics.WindowResults} window results, {_results} written");
            }

            return (metrics.Windowed, metrics.Late, _results, _overflows);
        }

        public ValueTask DisposeAsync() => _pipeline.DisposeAsync();
    }

    /// <summary>One output: a file, or standard output for "-"; <paramref name="raw"/> is the stream under the writer, for bytes written as read.</summary>
    private sealed class Output(Outputs owner, string option, string path, TextWriter writer, Stream? raw, bool owned)
    {
        public Outputs Owner { get; } = owner;

        public string Option { get; } = option;

        public string Path { get; } = path;

        public TextWriter Writer { get; } = writer;

        public bool Owned { get; } = owned;

        /// <summary>Writes <c>{"line","error"}</c> and a newline.</summary>
        public void WriteDeadLetter(string line, string error)
        {
            Writer.Write("{\"line\":");
            Json.WriteString(Writer, line);
            WriteError(error);
        }

        /// <summary>
        /// Writes <c>{"line","error"}</c> for a line that is not valid UTF-8: the line's bytes go out as read (only the
        /// quote, the backslash and control characters escaped), so this dead letter is not valid UTF-8 either. A writer
        /// with no stream under it (a test's string) gets the line decoded with replacement characters.
        /// </summary>
        public void WriteDeadLetter(byte[] line, string error)
        {
            if (raw is null)
            {
                WriteDeadLetter(Encoding.UTF8.GetString(line), error);
                return;
            }

            Writer.Write("{\"line\":");
            Writer.Flush(); // what the writer holds goes first, then the bytes, into the same stream
            Json.WriteString(raw, line);
            WriteError(error);
        }

        private void WriteError(string error)
        {
            Writer.Write(",\"error\":");
            Json.WriteString(Writer, error);
            Writer.Write("}\n");
        }
    }

    /// <summary>The output files. A write that fails is remembered and ends the run with exit code 1.</summary>
    private sealed class Outputs : IAsyncDisposable
    {
        private readonly List<Output> _outputs = [];
        private volatile CliException? _failure;

        /// <summary>Refuses an output file that cannot be created (its directory is missing, or it is a directory), before any is.</summary>
        public static void Check(string option, string path)
        {
            if (path == "-")
            {
                return;
            }

            var full = Path.GetFullPath(path);
            var directory = Path.GetDirectoryName(full);
            if (Directory.Exists(full))
            {
                throw new CliException(1, $"cannot write {option} '{path}': it is a directory");
            }

            if (directory is not null && !Directory.Exists(directory))
            {
                throw new CliException(1, $"cannot write {option} '{path}': the directory '{directory}' does not exist");
            }
        }

        public Output Open(string option, string path, TextWriter stdout)
        {
            if (path == "-")
            {
                var console = new Output(this, option, path, stdout, (stdout as StreamWriter)?.BaseStream, owned: false);
                _outputs.Add(console);
                return console;
            }

            try
            {
                var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
                var output = new Output(this, option, path, new StreamWriter(stream, Utf8, 1 << 16), stream, owned: true);
                _outputs.Add(output);
                return output;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                throw new CliException(1, $"cannot write {option} '{path}': {OneLine(ex.Message)}");
            }
        }

        public void Guard(Output output, Action<TextWriter> write)
        {
            if (_failure is not null)
            {
                return;
            }

            try
            {
                write(output.Writer);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or NotSupportedException)
            {
                _failure ??= new CliException(1, $"cannot write {output.Option} '{output.Path}': {OneLine(ex.Message)}");
            }
        }

        public void ThrowIfFailed()
        {
            if (_failure is { } failure)
            {
                throw failure;
            }
        }

        /// <summary>Flushes and closes every file (standard output is flushed, not closed).</summary>
        public async Task CloseAsync()
        {
            ThrowIfFailed();
            foreach (var output in _outputs)
            {
                try
                {
                    await output.Writer.FlushAsync().ConfigureAwait(false);
                    if (output.Owned)
                    {
                        await output.Writer.DisposeAsync().ConfigureAwait(false);
                    }
                }
                catch (IOException ex)
                {
                    throw new CliException(1, $"cannot write {output.Option} '{output.Path}': {OneLine(ex.Message)}");
                }
            }

            _outputs.Clear();
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var output in _outputs.Where(o => o.Owned))
            {
                try
                {
                    await output.Writer.DisposeAsync().ConfigureAwait(false);
                }
                catch (IOException)
                {
                    // The run already failed; this is clean-up.
                }
            }

            _outputs.Clear();
        }
    }
}
