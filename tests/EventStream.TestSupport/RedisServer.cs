using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EventStream.Tests;

/// <summary>How a <see cref="RedisServer"/> runs: persistence and cluster mode.</summary>
public sealed record RedisServerOptions
{
    /// <summary>AOF persistence (<c>--appendonly</c>). <value>The default value is <see langword="true"/>.</value></summary>
    public bool AppendOnly { get; init; } = true;

    /// <summary>
    /// <c>--appendfsync</c> when <see cref="AppendOnly"/>: <c>always</c> (every acknowledged write is on disk, what a
    /// restart test needs) or <c>everysec</c> (redis-server's default; may lose the last second).
    /// <value>The default value is <c>everysec</c>.</value>
    /// </summary>
    public string AppendFsync { get; init; } = "everysec";

    /// <summary>A cluster node (<c>--cluster-enabled yes</c>); its bus port (port + 10000) is reserved as well.</summary>
    public bool ClusterEnabled { get; init; }

    /// <summary>More <c>redis-server</c> arguments, e.g. <c>--maxmemory-policy noeviction</c>.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>The temporary directory's name prefix.</summary>
    public string DirectoryPrefix { get; init; } = "eventstream-redis-";
}

/// <summary>
/// The one launcher of a private redis-server child process for the tests and the benchmarks: a loopback port of its
/// own, a temporary directory, no RDB snapshots. It can be killed (SIGKILL, as a crash) and started again on the same
/// port and directory.
/// </summary>
/// <remarks>
/// The port is picked and held for the server's lifetime, so a restart gets it back while other test assemblies start
/// servers of their own: it lies below the kernel's ephemeral range (no <c>bind(0)</c> or outgoing connection is given
/// it) and a lock file under the temporary folder reserves it against every other <see cref="RedisServer"/> on the
/// machine. A bind failure anyway (some other program took the port) is read from the server's output: a first start
/// tries another port, a restart tries the same port again until its deadline, then fails saying so.
/// </remarks>
public sealed class RedisServer : IAsyncDisposable
{
    private const int BusPortOffset = 10000;
    private const int OutputLines = 200;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly string LockDirectory = Path.Combine(Path.GetTempPath(), "eventstream-redis-ports");

    private readonly string _binary;
    private readonly RedisServerOptions _options;
    private readonly List<FileStream> _reservations;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    private RedisServer(string binary, RedisServerOptions options, int port, List<FileStream> reservations)
    {
        _binary = binary;
        _options = options;
        _reservations = reservations;
        Port = port;
        Directory = System.IO.Directory.CreateTempSubdirectory(options.DirectoryPrefix).FullName;
    }

    public int Port { get; }

    public string Directory { get; }

    /// <summary>host:port, for <c>ConnectionMultiplexer.Connect</c> or <c>--redis</c>.</summary>
    public string Configuration => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The running process's id (0 when stopped).</summary>
    public int Pid => _process is { HasExited: false } p ? p.Id : 0;

    /// <summary>The last lines the server wrote (for failure messages).</summary>
    public string Output => string.Join(Environment.NewLine, _output);

    /// <summary>Starts a server on a free port and waits for its <c>PING</c>; a clear error when redis-server is not installed.</summary>
    public static async Task<RedisServer> StartAsync(RedisServerOptions? options = null)
    {
        options ??= new RedisServerOptions();
        var binary = FindBinary("redis-server") ?? throw new InvalidOperationException(
            "redis-server is not installed: these tests need a real server. Install it (Debian: apt-get install -y redis-server) or set REDIS_URL to host:port.");
        const int Attempts = 10;
        var failures = new StringBuilder();
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            var (port, reservations) = ReservePort(options.ClusterEnabled);
            var server = new RedisServer(binary, options, port, reservations);
            var failure = await server.TryStartAsync(StartTimeout);
            if (failure is null)
            {
                return server;
            }

            failures.AppendLine(CultureInfo.InvariantCulture, $"--- port {port}, attempt {attempt}: {failure}");
            await server.DisposeAsync();
            if (!failure.Contains("Address already in use", StringComparison.Ordinal))
            {
                break;
            }
        }

        throw new InvalidOperationException($"redis-server did not start:{Environment.NewLine}{failures}");
    }

    /// <summary>Starts the server again on the same port and directory (it replays its AOF) and waits for its <c>PING</c>.</summary>
    public async Task RestartAsync()
    {
        if (_process is not null)
        {
            throw new InvalidOperationException("The server is running: kill it first.");
        }

        // The port is held for us; should another program have bound it meanwhile, wait for it to let go.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var failure = await TryStartAsync(StartTimeout - deadline.Elapsed);
            if (failure is null)
            {
                return;
            }

            if (!failure.Contains("Address already in use", StringComparison.Ordinal) || deadline.Elapsed > StartTimeout)
            {
                throw new InvalidOperationException($"redis-server did not restart on port {Port.ToString(CultureInfo.InvariantCulture)}: {failure}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL, as a crash, and waits for the process to be gone.</summary>
    public async Task KillAsync()
    {
        if (_process is null)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    /// <summary>Kills the server, waits for its exit, then deletes its directory and releases its port.</summary>
    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }

        // The lock files stay: deleting one could let two processes lock two different files of the same name.
        foreach (var reservation in _reservations)
        {
            await reservation.DisposeAsync();
        }

        _reservations.Clear();
    }

    /// <summary>The binary on PATH (or /usr/bin, /usr/local/bin); null when it is not installed.</summary>
    public static string? FindBinary(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin").Append("/usr/local/bin")
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// Sends one command to 127.0.0.1:<paramref name="port"/> over a fresh connection and returns a simple-string or
    /// bulk-string reply (an error reply comes back with its leading '-'); null when nothing answers.
    /// </summary>
    public static async Task<string?> CommandAsync(int port, params string[] args)
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
                if (TryParseReply(received.ToArray()) is { } reply)
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

    /// <summary>Starts the process and waits for PONG; the reason when it exits (e.g. cannot bind) or never answers.</summary>
    private async Task<string?> TryStartAsync(TimeSpan timeout)
    {
        var p = Port.ToString(CultureInfo.InvariantCulture);
        var info = new ProcessStartInfo(_binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] args = ["--port", p, "--bind", "127.0.0.1", "--dir", Directory, "--save", string.Empty, "--daemonize", "no", "--appendonly", _options.AppendOnly ? "yes" : "no"];
        args = [.. args, .. _options.AppendOnly ? ["--appendfsync", _options.AppendFsync] : Array.Empty<string>()];
        args = [.. args, .. _options.ClusterEnabled ? ["--cluster-enabled", "yes", "--cluster-config-file", $"nodes-{p}.conf"] : Array.Empty<string>()];
        foreach (var arg in args.Concat(_options.ExtraArguments))
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < timeout)
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync(); // drains the output
                var code = process.ExitCode;
                await KillAsync();
                return $"exited with code {code.ToString(CultureInfo.InvariantCulture)}: {Output}";
            }

            // A server still loading its AOF answers -LOADING: keep waiting.
            if (await CommandAsync(Port, "PING") == "PONG")
            {
                return null;
            }

            await Task.Delay(20);
        }

        await KillAsync();
        return $"no PONG within {timeout.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s: {Output}";
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

    /// <summary>
    /// A free loopback port below the ephemeral range (with its bus port for a cluster node, also below it), locked by a
    /// file that no other <see cref="RedisServer"/> on this machine can take while this process holds it.
    /// </summary>
    private static (int Port, List<FileStream> Reservations) ReservePort(bool cluster)
    {
        System.IO.Directory.CreateDirectory(LockDirectory);
        var high = EphemeralLow() - 1 - (cluster ? BusPortOffset : 0);
        const int Low = 10000;
        if (high <= Low)
        {
            throw new InvalidOperationException($"No room for test ports below the ephemeral range (it starts at {EphemeralLow().ToString(CultureInfo.InvariantCulture)}).");
        }

        for (var i = 0; i < 1000; i++)
        {
            var port = Random.Shared.Next(Low, high + 1);
            var ports = cluster ? [port, port + BusPortOffset] : new[] { port };
            var reservations = new List<FileStream>();
            foreach (var candidate in ports)
            {
                if (TryLock(candidate) is { } reservation)
                {
                    reservations.Add(reservation);
                }
            }

            if (reservations.Count == ports.Length && ports.All(IsFree))
            {
                return (port, reservations);
            }

            foreach (var reservation in reservations)
            {
                reservation.Dispose();
            }
        }

        throw new InvalidOperationException("Found no free loopback port for a redis-server.");
    }

    private static FileStream? TryLock(int port)
    {
        try
        {
            // FileShare.None takes an exclusive advisory lock that the kernel drops when this process dies.
            return new FileStream(Path.Combine(LockDirectory, port.ToString(CultureInfo.InvariantCulture) + ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
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

    private static int EphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32768; // Linux's default
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
}
