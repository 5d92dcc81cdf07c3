using System.Text;

namespace EventStream.Cli;

/// <summary>
/// The <c>eventstream</c> command line. One command so far:
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
            return await RunAsync(args, stdout, Console.Error).ConfigureAwait(false);
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
        if (args.Length == 0 || args[0] is not "window")
        {
            if (args.Length > 0 && args[0] is "--help" or "-h" or "help")
            {
                await stdout.WriteLineAsync(WindowArguments.Help).ConfigureAwait(false);
                return 0;
            }

            await stderr.WriteLineAsync(args.Length == 0
                ? "eventstream: missing command; usage: eventstream window --input PATH ... (eventstream window --help)"
                : $"eventstream: unknown command '{args[0]}'; the command is 'window' (eventstream window --help)").ConfigureAwait(false);
            return 2;
        }

        if (args.Length == 2 && args[1] is "--help" or "-h")
        {
            await stdout.WriteLineAsync(WindowArguments.Help).ConfigureAwait(false);
            return 0;
        }

        WindowArguments parsed;
        try
        {
            parsed = WindowArguments.Parse(args[1..]);
        }
        catch (UsageException ex)
        {
            await stderr.WriteLineAsync($"eventstream window: {ex.Message} (eventstream window --help)").ConfigureAwait(false);
            return 2;
        }

        try
        {
            var summary = await WindowCommand.RunAsync(parsed, stdout, cancellationToken).ConfigureAwait(false);
            await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            await stderr.WriteLineAsync(summary.ToString()).ConfigureAwait(false);
            return 0;
        }
        catch (CliException ex)
        {
            await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            await stderr.WriteLineAsync($"eventstream window: {ex.Message}").ConfigureAwait(false);
            return ex.ExitCode;
        }
    }
}
