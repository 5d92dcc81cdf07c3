using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace EventStream.Redis;

/// <summary>
/// The application's Redis connections, one per configuration string, keyed by it: <c>UseRedis</c> and the Redis health
/// checks given the same string share one multiplexer. It connects in the background (the host starts, and health
/// checks report, while Redis is down).
/// </summary>
internal static class RedisConnections
{
    /// <summary>Registers the connection for <paramref name="configuration"/> unless it is registered already.</summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configuration">The StackExchange.Redis configuration string.</param>
    /// <param name="who">Who asks, at the start of an error (say, <c>Event pipeline 'clicks'</c>).</param>
    /// <exception cref="ArgumentException">The configuration string is empty or does not parse.</exception>
    public static void Register(IServiceCollection services, string configuration, string who)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        ConfigurationOptions parsed;
        try
        {
            parsed = ConfigurationOptions.Parse(configuration);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"{who}: bad Redis configuration '{configuration}': {ex.Message}", nameof(configuration), ex);
        }

        parsed.AbortOnConnectFail = false;
        services.TryAddKeyedSingleton<IConnectionMultiplexer>(configuration, (_, _) => ConnectionMultiplexer.Connect(parsed));
    }
}
