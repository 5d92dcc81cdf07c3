using System.CommandLine;

namespace EventStream.Cli;

/// <summary>The arguments of <c>eventstream results</c>.</summary>
public sealed record ResultsArguments
{
    public required string Redis { get; init; }

    public required string Stream { get; init; }

    public required string Group { get; init; }

    public required string Output { get; init; }

    /// <summary>Gets a value indicating whether the client's diagnostics go to standard error.</summary>
    public bool Verbose { get; init; }

    /// <summary>The <c>results</c> command; its action gets the arguments.</summary>
    internal static Command CreateCommand(Func<ResultsArguments, CancellationToken, Task<int>> run)
    {
        var redis = RedisOptions.Configuration();
        var stream = CommandLineSyntax.Value("--stream", "KEY", "the computation's input stream", required: true);
        var group = CommandLineSyntax.Value("--group", "NAME", "the computation's group", required: true);
        var output = CommandLineSyntax.Value(
            "--output",
            "PATH",
            "NDJSON (or - for standard output): every committed result of the computation, partition by partition, " +
            "{\"key\",\"start\",\"end\",\"value\",\"count\",\"firing\",\"firingNumber\"}: the exactly-once record, for checks and backfills",
            required: true);
        var verbose = RedisOptions.Verbose();
        var command = new Command("results", "Writes a partitioned computation's committed results as NDJSON. Exit codes: 0 done, 1 Redis or the output failed or no such computation, 2 bad arguments.")
        {
            redis, stream, group, output, verbose,
        };
        command.SetAction((parse, cancellationToken) => run(
            new ResultsArguments { Redis = parse.Required(redis), Stream = parse.Required(stream), Group = parse.Required(group), Output = parse.Required(output), Verbose = parse.GetValue(verbose) },
            cancellationToken));
        return command;
    }
}
