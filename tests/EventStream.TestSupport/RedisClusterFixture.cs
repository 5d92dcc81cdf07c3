using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace EventStream.Tests;

/// <summary>
/// A real 3-node Redis Cluster for the tests: the one at REDIS_CLUSTER_URL (comma-separated host:port list) when that is
/// set, otherwise three private cluster-enabled <see cref="RedisServer"/>s (each with its own temporary directory, AOF
/// on), joined with <c>redis-cli --cluster create</c> (three primaries, no replicas) and stopped afterwards.
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    private const int NodeCount = 3;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly List<RedisServer> _nodes = [];

    public string Configuration { get; private set; } = string.Empty;

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public IReadOnlyList<int> Ports { get; private set; } = [];

    public async Task InitializeAsync()
    {
        try
        {
            var url = Environment.GetEnvironmentVariable("REDIS_CLUSTER_URL");
            if (string.IsNullOrWhiteSpace(url))
            {
                await StartClusterAsync();
                Ports = _nodes.Select(n => n.Port).ToList();
                Configuration = string.Join(",", _nodes.Select(n => n.Configuration));
            }
            else
            {
                var endpoints = url.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                Ports = endpoints.Select(PortOf).ToList();
                Configuration = string.Join(",", endpoints);
            }

            Connection = await RedisServerFixture.ConnectAsync(Configuration);
        }
        catch
        {
            // xunit does not dispose a fixture whose InitializeAsync failed: do not leave servers behind.
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
            Connection = null!;
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        _nodes.Clear();
    }

    private async Task StartClusterAsync()
    {
        var cli = RedisServer.FindBinary("redis-cli") ?? throw new InvalidOperationException(
            "redis-cli is not installed: the Redis cluster tests need a real redis-server and redis-cli. " +
            "Install them (Debian: apt-get install -y redis-server, which brings redis-tools) or set REDIS_CLUSTER_URL to a comma-separated host:port list of a running cluster.");

        var started = Stopwatch.StartNew();
        for (var i = 0; i < NodeCount; i++)
        {
            _nodes.Add(await RedisServer.StartAsync(new RedisServerOptions { ClusterEnabled = true, DirectoryPrefix = "eventstream-redis-cluster-" }));
        }

        var create = await RunAsync(cli, ["--cluster", "create", .. _nodes.Select(n => n.Configuration), "--cluster-replicas", "0", "--cluster-yes"], StartTimeout);
        if (create.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"redis-cli --cluster create failed (exit code {create.ExitCode.ToString(CultureInfo.InvariantCulture)}):{Environment.NewLine}{create.Output}");
        }

        var infos = new string?[NodeCount];
        while (true)
        {
            for (var i = 0; i < NodeCount; i++)
            {
                infos[i] = await RedisServer.CommandAsync(_nodes[i].Port, "CLUSTER", "INFO");
            }

            if (infos.All(info => info is not null
                && info.Contains("cluster_state:ok", StringComparison.Ordinal)
                && info.Contains($"cluster_known_nodes:{NodeCount.ToString(CultureInfo.InvariantCulture)}", StringComparison.Ordinal)))
            {
                return;
            }

            if (started.Elapsed > StartTimeout)
            {
                var states = string.Join(
                    Environment.NewLine,
                    _nodes.Select((n, i) => $"{n.Configuration}: {infos[i]?.Replace("\r\n", " ", StringComparison.Ordinal) ?? "(no answer)"}"));
                throw new InvalidOperationException(
                    $"The Redis cluster did not reach cluster_state:ok on all {NodeCount.ToString(CultureInfo.InvariantCulture)} nodes within {StartTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.{Environment.NewLine}" +
                    $"CLUSTER INFO:{Environment.NewLine}{states}{Environment.NewLine}redis-cli --cluster create said:{Environment.NewLine}{create.Output}");
            }

            await Task.Delay(100);
        }
    }

    private static int PortOf(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        return colon >= 0 && int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            ? port
            : 6379;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string binary, IEnumerable<string> args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{binary} did not start.");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, $"(killed after {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s){Environment.NewLine}{await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
