using System.Diagnostics;
using StackExchange.Redis;

namespace EventStream.Tests;

/// <summary>
/// A real redis-server for a test collection: the one at REDIS_URL when that is set, otherwise a private
/// <see cref="RedisServer"/> (AOF on, appendfsync everysec) stopped afterwards. Each test assembly declares its own
/// <c>[CollectionDefinition]</c> over it.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private RedisServer? _server;

    public string Configuration { get; private set; } = string.Empty;

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var url = Environment.GetEnvironmentVariable("REDIS_URL");
        if (string.IsNullOrWhiteSpace(url))
        {
            _server = await RedisServer.StartAsync();
            url = _server.Configuration;
        }

        Configuration = url;
        Connection = await ConnectAsync(url);
    }

    public async Task DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>Connects to <paramref name="configuration"/>, retrying for up to 15 s while it does not answer yet.</summary>
    internal static async Task<ConnectionMultiplexer> ConnectAsync(string configuration)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var connection = await ConnectionMultiplexer.ConnectAsync($"{configuration},abortConnect=true,connectTimeout=2000");
                await connection.GetDatabase().PingAsync();
                return connection;
            }
            catch (RedisConnectionException) when (deadline.Elapsed < TimeSpan.FromSeconds(15))
            {
                await Task.Delay(100);
            }
        }
    }
}
