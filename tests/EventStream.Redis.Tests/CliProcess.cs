using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EventStream.Redis.Tests;

/// <summary>The <c>eventstream</c> command line as a real child process (<c>dotnet eventstream.dll …</c>).</summary>
public sealed class CliProcess : IDisposable
{
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _stdout = new();

    private CliProcess(Process process)
    {
        Process = process;
        process.OutputDataReceived += (_, e) =>
        {
            lock (_stdout)
            {
                _stdout.AppendLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static CliProcess Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "eventstream.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return new CliProcess(Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start"));
    }

    /// <summary>Waits for the exit and returns the exit code; kills the process after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await Process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Process.Kill(entireProcessTree: true);
            throw new TimeoutException($"eventstream {string.Join(' ', Process.StartInfo.ArgumentList.Skip(1))} did not exit within {timeout}; stderr: {Stderr}");
        }

        Process.WaitForExit(); // drains the redirected output
        return Process.ExitCode;
    }

    /// <summary>SIGKILL: no clean-up, no flush — a crash.</summary>
    public void KillHard() => Process.Kill(entireProcessTree: true);

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }

        Process.Dispose();
    }
}

/// <summary>A private redis-server that a test can kill and start again on the same port and directory (AOF, fsync always).</summary>
public sealed class RedisServerProcess : IDisposable
{
    private Process? _process;

    public RedisServerProcess()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        Directory = System.IO.Directory.CreateTempSubdirectory("eventstream-restart-").FullName;
    }

    public int Port { get; }

    public string Directory { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public async Task StartAsync()
    {
        var info = new ProcessStartInfo(File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", Directory, "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no" })
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray());
                var buffer = new byte[64];
                var n = await stream.ReadAsync(buffer);
                if (Encoding.ASCII.GetString(buffer, 0, n).StartsWith("+PONG", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(15))
            {
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(15))
            {
                throw new TimeoutException("redis-server did not answer PING (still loading its AOF?)");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>SIGKILL, as a crash; with fsync always, everything acknowledged is in the AOF.</summary>
    public void Kill()
    {
        _process?.Kill(entireProcessTree: true);
        _process?.WaitForExit();
        _process?.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        Kill();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
