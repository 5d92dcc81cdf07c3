namespace EventStream.Cli;

/// <summary>The arguments of <c>eventstream results</c>.</summary>
public sealed record ResultsArguments
{
    public const string Usage = "usage: eventstream results --redis CONFIG --stream KEY --group NAME --output PATH";

    public const string Help = Usage + """


          --redis CONFIG   StackExchange.Redis configuration: HOST:PORT[,password=…,ssl=true,…]
          --stream KEY     the computation's input stream
          --group NAME     the computation's group
          --output PATH    NDJSON (or - for standard output): every committed result of the computation, partition by
                           partition, {"key","start","end","value","count","firing","firingNumber"}: the exactly-once
                           record, for checks and backfills
        Exit codes: 0 done, 1 Redis or the output failed or no such computation, 2 bad arguments.
        """;

    public required string Redis { get; init; }

    public required string Stream { get; init; }

    public required string Group { get; init; }

    public required string Output { get; init; }

    public static ResultsArguments Parse(IReadOnlyList<string> args)
    {
        var values = CommandLine.Parse(args, ["--redis", "--stream", "--group", "--output"], []);
        return new ResultsArguments { Redis = values["--redis"], Stream = values["--stream"], Group = values["--group"], Output = values["--output"] };
    }
}
