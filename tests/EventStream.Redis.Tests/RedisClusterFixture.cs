using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace EventStream.Redis.Tests;

/// <summary>
/// A real 3-node Redis Cluster for the tests: the one at REDIS_CLUSTER_URL (comma-separated host:port list) when that is
/// set, otherwise three private cluster-enabled redis-servers the fixture starts on free loopback ports (each with its own
/// temporary directory, AOF on), joins with <c>redis-cli --cluster create</c> (three primaries, no replicas) and stops
/// afterwards.
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    private const int NodeCount = 3;

    // redis-server's cluster bus listens on port + 10000, so a node port must leave room for it.
    private const int BusPortOffset = 10000;
    private const int MaxNodePort = 65535 - BusPortOffset;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly List<Node> _nodes = [];

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
                Configuration = string.Join(",", Ports.Select(p => $"127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}"));
            }
            else
            {
                var endpoints = url.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                Ports = endpoints.Select(PortOf).ToList();
                Configuration = string.Join(",", endpoints);
            }

            var deadline = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    Connection = await ConnectionMultiplexer.ConnectAsync($"{Configuration},abortConnect=true,connectTimeout=2000");
                    await Connection.GetDatabase().PingAsync();
                    return;
                }
                catch (RedisConnectionException) when (deadline.Elapsed < TimeSpan.FromSeconds(15))
                {
                    await Task.Delay(100);
                }
            }
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
            await node.StopAsync();
        }

        _nodes.Clear();
    }

    private async Task StartClusterAsync()
    {
        var server = FindBinary("redis-server");
        var cli = FindBinary("redis-cli");
        if (server is null || cli is null)
        {
            throw new InvalidOperationException(
                $"{(server is null ? "redis-server" : "redis-cli")} is not installed: the Redis cluster tests need a real redis-server and redis-cli. " +
                "Install them (Debian: apt-get install -y redis-server, which brings redis-tools) or set REDIS_CLUSTER_URL to a comma-separated host:port list of a running cluster.");
        }

        var started = Stopwatch.StartNew();
        var reserved = new HashSet<int>();
        for (var i = 0; i < NodeCount; i++)
        {
            _nodes.Add(await StartNodeAsync(server, reserved));
        }

        var create = await RunAsync(
            cli,
            ["--cluster", "create", .. _nodes.Select(n => $"127.0.0.1:{n.Port.ToString(CultureInfo.InvariantCulture)}"), "--cluster-replicas", "0", "--cluster-yes"],
            StartTimeout);
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
                infos[i] = await CommandAsync(_nodes[i].Port, "CLUSTER", "INFO");
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
                    _nodes.Select((n, i) => $"127.0.0.1:{n.Port.ToString(CultureInfo.InvariantCulture)}: {infos[i]?.Replace("\r\n", " ", StringComparison.Ordinal) ?? "(no answer)"}"));
                throw new InvalidOperationException(
                    $"The Redis cluster did not reach cluster_state:ok on all {NodeCount.ToString(CultureInfo.InvariantCulture)} nodes within {StartTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.{Environment.NewLine}" +
                    $"CLUSTER INFO:{Environment.NewLine}{states}{Environment.NewLine}redis-cli --cluster create said:{Environment.NewLine}{create.Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Starts one cluster-enabled redis-server and waits for its PING; retries on other ports if it cannot bind.</summary>
    private static async Task<Node> StartNodeAsync(string binary, HashSet<int> reserved)
    {
        const int Attempts = 5;
        var failures = new StringBuilder();
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            var port = FreeNodePort(reserved);
            reserved.Add(port);
            reserved.Add(port + BusPortOffset);
            var node = Node.Start(binary, port);
            var deadline = Stopwatch.StartNew();
            while (!node.HasExited && deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                if (await CommandAsync(port, "PING") == "PONG")
                {
                    return node;
                }

                await Task.Delay(50);
            }

            failures.AppendLine(CultureInfo.InvariantCulture, $"--- port {port}, attempt {attempt}: {(node.HasExited ? "exited" : "no PONG within 10 s")}");
            failures.AppendLine(node.Output);
            await node.StopAsync();
        }

        throw new InvalidOperationException($"redis-server (cluster node) did not answer PING after {Attempts} attempts:{Environment.NewLine}{failures}");
    }

    /// <summary>A loopback port ≤ 55535 that is free, as is its cluster bus port (+10000), and not taken by another node.</summary>
    private static int FreeNodePort(HashSet<int> reserved)
    {
        for (var i = 0; i < 1000; i++)
        {
            var port = Random.Shared.Next(10000, MaxNodePort + 1);
            if (!reserved.Contains(port) && !reserved.Contains(port + BusPortOffset)
                && !reserved.Contains(port - BusPortOffset)
                && IsFree(port) && IsFree(port + BusPortOffset))
            {
                return port;
            }
        }

        throw new InvalidOperationException("Found no free loopback port P ≤ 55535 with P+10000 free for a Redis cluster node.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int PortOf(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        return colon >= 0 && int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            ? port
            : 6379;
    }

    /// <summary>
    /// Sends one command to 127.0.0.1:<paramref name="port"/> over a fresh connection and returns a simple-string or
    /// bulk-string reply (an error reply comes back with its leading '-'); null when the node does not answer.
    /// </summary>
    private static async Task<string?> CommandAsync(int port, params string[] args)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            var request = new StringBuilder();
            request.Append(CultureInfo.InvariantCulture, $"*{args.Length}\r\n");
            foreach (var arg in args)
            {
                request.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(arg)}\r\n{arg}\r\n");
            }

            await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token);

            var received = new List<byte>();
            var buffer = new byte[4096];
            while (true)
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                {
                    return null;
                }

                received.AddRange(buffer.AsSpan(0, read));
                var reply = TryParseReply(received.ToArray());
                if (reply is not null)
                {
                    return reply;
                }
            }
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    private static string? TryParseReply(byte[] data)
    {
        var lineEnd = Array.IndexOf(data, (byte)'\n');
        if (lineEnd < 1 || data[lineEnd - 1] != '\r')
        {
            return null;
        }

        var line = Encoding.UTF8.GetString(data, 1, lineEnd - 2);
        switch ((char)data[0])
        {
            case '+':
                return line;
            case '-':
                return "-" + line;
            case '$':
                var length = int.Parse(line, CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return string.Empty;
                }

                return data.Length >= lineEnd + 1 + length + 2 ? Encoding.UTF8.GetString(data, lineEnd + 1, length) : null;
            default:
                return line;
        }
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

    private static string? FindBinary(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator).Append("/usr/bin").Append("/usr/local/bin"))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>One cluster-enabled redis-server child process with its own temporary directory.</summary>
    private sealed class Node
    {
        private const int OutputLines = 200;

        private readonly Process _process;
        private readonly string _directory;
        private readonly ConcurrentQueue<string> _output = new();

        private Node(Process process, string directory, int port)
        {
            _process = process;
            _directory = directory;
            Port = port;
        }

        public int Port { get; }

        public bool HasExited => _process.HasExited;

        public string Output => string.Join(Environment.NewLine, _output);

        public static Node Start(string binary, int port)
        {
            var directory = Directory.CreateTempSubdirectory("eventstream-redis-cluster-").FullName;
            var p = port.ToString(CultureInfo.InvariantCulture);
            Process process;
            try
            {
                process = Process.Start(new ProcessStartInfo(binary)
                {
                    ArgumentList =
                    {
                        "--port", p, "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", $"nodes-{p}.conf",
                        "--dir", directory, "--save", string.Empty, "--appendonly", "yes", "--daemonize", "no",
                    },
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                }) ?? throw new InvalidOperationException("redis-server did not start.");
            }
            catch
            {
                Directory.Delete(directory, recursive: true);
                throw;
            }

            var node = new Node(process, directory, port);
            process.OutputDataReceived += (_, e) => node.Record(e.Data);
            process.ErrorDataReceived += (_, e) => node.Record(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return node;
        }

        public async Task StopAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
            if (Directory.Exists(_directory))
            {
                Directory.Delete(_directory, recursive: true);
            }
        }

        private void Record(string? line)
        {
            if (line is null)
            {
                return;
            }

            _output.Enqueue(line);
            while (_output.Count > OutputLines)
            {
                _output.TryDequeue(out _);
            }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RedisClusterTests : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "redis-cluster";
}
