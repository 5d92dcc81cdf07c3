using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace EventStream.Redis.Tests;

/// <summary>
/// A real redis-server for the tests: the one at REDIS_URL when that is set, otherwise a private server the fixture
/// starts on a free loopback port with a temporary directory (AOF on) and stops afterwards.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private Process? _server;
    private string? _directory;

    public string Configuration { get; private set; } = string.Empty;

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var url = Environment.GetEnvironmentVariable("REDIS_URL");
        if (string.IsNullOrWhiteSpace(url))
        {
            var binary = FindRedisServer() ?? throw new InvalidOperationException(
                "redis-server is not installed: the Redis tests need a real server. Install it (Debian: apt-get install -y redis-server) or set REDIS_URL to host:port.");
            var port = FreePort();
            _directory = Directory.CreateTempSubdirectory("eventstream-redis-").FullName;
            _server = Process.Start(new ProcessStartInfo(binary)
            {
                ArgumentList = { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _directory, "--save", string.Empty, "--appendonly", "yes", "--daemonize", "no" },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            }) ?? throw new InvalidOperationException("redis-server did not start.");
            _server.OutputDataReceived += (_, _) => { };
            _server.ErrorDataReceived += (_, _) => { };
            _server.BeginOutputReadLine();
            _server.BeginErrorReadLine();
            url = $"127.0.0.1:{port}";
        }

        Configuration = url;
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                Connection = await ConnectionMultiplexer.ConnectAsync($"{url},abortConnect=true,connectTimeout=1000");
                await Connection.GetDatabase().PingAsync();
                return;
            }
            catch (RedisConnectionException) when (deadline.Elapsed < TimeSpan.FromSeconds(15))
            {
                await Task.Delay(100);
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
        }

        if (_server is { HasExited: false })
        {
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync();
        }

        _server?.Dispose();
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static string? FindRedisServer()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator).Append("/usr/bin").Append("/usr/local/bin"))
        {
            var candidate = Path.Combine(dir, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class RedisTests : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis";
}
