using StackExchange.Redis;

namespace EventStream.Redis.Streams;

/// <summary>Tells a Redis outage, which every consumer waits out with back-off, from a failure that must stop it.</summary>
internal static class RedisOutage
{
    /// <summary>
    /// Whether the server is away or not ready yet: the connection is lost or a command timed out, or the server answers
    /// <c>LOADING</c> while it replays its data after a restart.
    /// </summary>
    public static bool IsOutage(Exception exception) =>
        exception is RedisConnectionException or RedisTimeoutException or TimeoutException
        || (exception is RedisServerException server && server.Message.StartsWith("LOADING", StringComparison.Ordinal));
}
