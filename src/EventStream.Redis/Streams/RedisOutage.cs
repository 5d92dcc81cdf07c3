using StackExchange.Redis;

namespace EventStream.Redis.Streams;

/// <summary>Tells a Redis outage, which every consumer waits out with back-off, from a failure that must stop it.</summary>
internal static class RedisOutage
{
    /// <summary>Replies of a server in a passing state: replaying its data after a restart, demoted to a replica or
    /// without a master during a failover, a cluster re-forming or moving a slot.</summary>
    private static readonly string[] PassingStates = ["LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN"];

    /// <summary>
    /// Whether the server is away or not ready yet: the connection is lost or a command timed out, or the server answers
    /// <c>LOADING</c> while it replays its data after a restart, <c>READONLY</c> while a failover has made it a replica
    /// (the address will lead to the new master), <c>MASTERDOWN</c>, <c>CLUSTERDOWN</c> or <c>TRYAGAIN</c>.
    /// </summary>
    public static bool IsOutage(Exception exception) =>
        exception is RedisConnectionException or RedisTimeoutException or TimeoutException
        || (exception is RedisServerException server && PassingStates.Any(state => server.Message.StartsWith(state, StringComparison.Ordinal)));
}
