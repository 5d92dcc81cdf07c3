using System.CommandLine;

namespace EventStream.Cli;

/// <summary>The options every command that talks to Redis has.</summary>
internal static class RedisOptions
{
    public static Option<string> Configuration() =>
        CommandLineSyntax.Value("--redis", "CONFIG", "StackExchange.Redis configuration: HOST:PORT[,password=…,ssl=true,…]", required: true);

    public static Option<bool> Verbose() => new("--verbose")
    {
        Description = "also write the Redis client's full diagnostics (its exception's message and details, its connection log) and Debug-level logs to stderr; " +
            "without it an unreachable Redis is one line naming the address",
    };
}
