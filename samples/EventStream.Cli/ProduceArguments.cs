using System.Globalization;

namespace EventStream.Cli;

/// <summary>The arguments of <c>eventstream produce</c>.</summary>
public sealed record ProduceArguments
{
    public const string Usage = "usage: eventstream produce --redis CONFIG --stream KEY --input PATH [--batch N]";

    public const string Help = Usage + """


          --redis CONFIG   StackExchange.Redis configuration: HOST:PORT[,password=…,ssl=true,…]
          --stream KEY     the stream to add to; each non-blank line becomes one entry, field "event" = the line as is
          --input PATH     NDJSON file (lines are not validated here: the workers dead-letter bad ones with the reason)
          --batch N        entries per round trip (default 1000)
        Exit codes: 0 done, 1 the input or Redis failed, 2 bad arguments.
        """;

    public required string Redis { get; init; }

    public required string Stream { get; init; }

    public required string Input { get; init; }

    public int Batch { get; init; } = 1000;

    public static ProduceArguments Parse(IReadOnlyList<string> args)
    {
        var values = CommandLine.Parse(args, ["--redis", "--stream", "--input"], ["--batch"]);
        var batch = 1000;
        if (values.TryGetValue("--batch", out var text) && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out batch) || batch is < 1 or > 100_000))
        {
            throw new UsageException($"bad --batch '{text}': expected a whole number from 1 to 100000");
        }

        return new ProduceArguments { Redis = values["--redis"], Stream = values["--stream"], Input = values["--input"], Batch = batch };
    }
}
