using System.CommandLine;
using System.CommandLine.Invocation;
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
    /// written, 2 bad arguments (a parse error of System.CommandLine too). Errors and the summary go to
    /// <paramref name="stderr"/>, one line each; help goes to <paramref name="stdout"/>.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (args is ["help", .. var rest])
        {
            args = [.. rest, "--help"];
        }

        // The summary a command returns is written after its results are flushed: that is a clean exit (a worker
        // stopped by Ctrl+C or SIGTERM commits, hands over and returns its summary too).
        async Task<int> Done(Task<string> command)
        {
            var summary = await command.ConfigureAwait(false);
            await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            await stderr.WriteLineAsync(summary).ConfigureAwait(false);
            return 0;
        }

        async Task<string> Window(WindowArguments arguments, CancellationToken ct) => (await WindowCommand.RunAsync(arguments, stdout, ct).ConfigureAwait(false)).ToString();

        var root = new RootCommand("Event-time windows over NDJSON events: 'window' over a file in one process; 'worker', 'produce' and 'results' over Redis.")
        {
            WindowArguments.CreateCommand((a, ct) => Done(Window(a, ct))),
            WorkerArguments.CreateCommand((a, ct) => Done(WorkerCommand.RunAsync(a, stdout, stderr, ct))),
            ProduceArguments.CreateCommand((a, ct) => Done(ProduceCommand.RunAsync(a, stderr, ct))),
            ResultsArguments.CreateCommand((a, ct) => Done(ResultsCommand.RunAsync(a, stdout, stderr, ct))),
        };
        var parse = root.Parse(args);
        if (parse.Action is ParseErrorAction)
        {
            await stderr.WriteLineAsync(CommandLineSyntax.ErrorLine(parse, args)).ConfigureAwait(false);
            return 2;
        }

        // Help, completion ([suggest]) and --version run as System.CommandLine's own actions; a command runs its own.
        // Ctrl+C and SIGTERM are Main's (ProcessTerminationTimeout null), and failures are reported here, on one line.
        var command = parse.CommandResult.Command.Name;
        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        try
        {
            return await parse.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
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
