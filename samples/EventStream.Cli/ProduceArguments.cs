using System.CommandLine;
using System.Globalization;

namespace EventStream.Cli;

/// <summary>The arguments of <c>eventstream produce</c>.</summary>
public sealed record ProduceArguments
{
    public required string Redis { get; init; }

    public required string Stream { get; init; }

    public required string Input { get; init; }

    public int Batch { get; init; } = 1000;

    /// <summary>Gets a value indicating whether the client's diagnostics go to standard error.</summary>
    public bool Verbose { get; init; }

    /// <summary>The <c>produce</c> command; its action gets the checked arguments.</summary>
    internal static Command CreateCommand(Func<ProduceArguments, CancellationToken, Task<int>> run)
    {
        var redis = RedisOptions.Configuration();
        var stream = CommandLineSyntax.Value("--stream", "KEY", "the stream to add to; each non-blank line becomes one entry, field \"event\" = the line as is", required: true);
        var input = CommandLineSyntax.Value(
            "--input",
            "PATH",
            "NDJSON file (lines are not validated here: the workers dead-letter bad ones with the reason); a line that is not " +
            "valid UTF-8 is not published but refused, named on stderr and counted in the summary",
            required: true);
        var batch = CommandLineSyntax.Value("--batch", "N", "entries per round trip (default 1000)");
        var verbose = RedisOptions.Verbose();
        var command = new Command("produce", "Adds each non-blank line of an NDJSON file to a Redis stream. Exit codes: 0 done, 1 the input or Redis failed, 2 bad arguments.")
        {
            redis, stream, input, batch, verbose,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var size = 1000;
            if (parse.Optional(batch) is { } text && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size is < 1 or > 100_000))
            {
                throw new UsageException($"bad --batch '{text}': expected a whole number from 1 to 100000");
            }

            return run(new ProduceArguments { Redis = parse.Required(redis), Stream = parse.Required(stream), Input = parse.Required(input), Batch = size, Verbose = parse.GetValue(verbose) }, cancellationToken);
        });
        return command;
    }
}
