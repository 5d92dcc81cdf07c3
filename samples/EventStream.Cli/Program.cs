using System.Text;

namespace EventStream.Cli;

/// <summary>
/// The <c>eventstream</c> command line: <c>window</c> over a file in one process; <c>worker</c>, <c>produce</c> and <c>results</c> over Redis, e.g.
/// <code>eventstream window --input events.ndjson --window tumbling:1m --key data.url --agg count --output counts.ndjson --late late.ndjson --dead-letter bad.ndjson</code>
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Results written to standard output ("--output -") go through one buffered writer, flushed at the end.
        var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        await using (stdout.ConfigureAwait(false))
        {
            // Ctrl+C and SIGTERM stop a worker between batches: what it read and did not apply stays pending for its peers.
            using var stop = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                stop.Cancel();
            };
            using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                stop.Cancel();
            });
            return await RunAsync(args, stdout, Console.Error, stop.Token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs the command line in-process. Returns the exit code: 0 done, 1 the input could not be read or an output not
    /// written, 2 bad arguments. Errors and the summary go to <paramref name="stderr"/>, one line each.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var command = args.Length > 0 ? args[0] : "";
        if (command is not ("window" or "worker" or "produce" or "results"))
        {
            if (command is "--help" or "-h" or "help")
            {
                await stdout.WriteLineAsync(WindowArguments.Help + "\n\n" + WorkerArguments.Help + "\n\n" + ProduceArguments.Help + "\n\n" + ResultsArguments.Help).ConfigureAwait(false);
                return 0;
            }

            await stderr.WriteLineAsync(args.Length == 0
                ? "eventstream: missing command; usage: eventstream window|worker|produce|results --input PATH ... (eventstream window --help)"
                : $"eventstream: unknown command '{args[0]}'; the commands are 'window', 'worker', 'produce' and 'results' (eventstream window --help)").ConfigureAwait(false);
            return 2;
        }

        if (args.Length == 2 && args[1] is "--help" or "-h")
        {
            await stdout.WriteLineAsync(command switch { "window" => WindowArguments.Help, "worker" => WorkerArguments.Help, "results" => ResultsArguments.Help, _ => ProduceArguments.Help }).ConfigureAwait(false);
            return 0;
        }

        try
        {
            string summary;
            switch (command)
            {
                case "window":
                    summary = (await WindowCommand.RunAsync(WindowArguments.Parse(args[1..]), stdout, cancellationToken).ConfigureAwait(false)).ToString();
                    break;
                case "worker":
                    summary = await WorkerCommand.RunAsync(WorkerArguments.Parse(args[1..]), stdout, cancellationToken).ConfigureAwait(false);
                    break;
                case "results":
                    summary = await ResultsCommand.RunAsync(ResultsArguments.Parse(args[1..]), stdout, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    summary = await ProduceCommand.RunAsync(ProduceArguments.Parse(args[1..]), cancellationToken).ConfigureAwait(false);
                    break;
            }

            // A worker stopped by Ctrl+C or SIGTERM commits, hands over and returns its summary: that is a clean exit.
            await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            await stderr.WriteLineAsync(summary).ConfigureAwait(false);
            return 0;
        }
        catch (UsageException ex)
        {
            await stderr.WriteLineAsync($"eventstream {command}: {ex.Message} (eventstream {command} --help)").ConfigureAwait(false);
            return 2;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            await stderr.WriteLineAsync($"eventstream {command}: stopped").ConfigureAwait(false);
            return 130;
        }
        catch (CliException ex)
        {
            await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            await stderr.WriteLineAsync($"eventstream {command}: {ex.Message}").ConfigureAwait(false);
            return ex.ExitCode;
        }
    }
}
