using System.Diagnostics;
using System.Text;

namespace EventStream.Cli.Tests;

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

    /// <summary>How many events this worker applied, from its closing line (<c>eventstream worker NAME: N windowed, …</c>); null before it.</summary>
    public long? Windowed =>
        System.Text.RegularExpressions.Regex.Match(Stderr, @"eventstream worker \S+: (\d+) windowed") is { Success: true } m
            ? long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)
            : null;

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
            await Process.WaitForExitAsync();
            throw new TimeoutException($"eventstream {string.Join(' ', Process.StartInfo.ArgumentList.Skip(1))} did not exit within {timeout}; stderr: {Stderr}");
        }

        Process.WaitForExit(); // drains the redirected output
        return Process.ExitCode;
    }

    /// <summary>SIGKILL: no clean-up, no flush — a crash. Returns once the process is gone.</summary>
    public async Task KillHardAsync()
    {
        Process.Kill(entireProcessTree: true);
        await Process.WaitForExitAsync();
    }

    /// <summary>Sends a signal (STOP, CONT, TERM) with kill(1): a paused process keeps its sockets and state, and resumes where it was.</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("kill did not start");
        await kill.WaitForExitAsync();
        kill.ExitCode.Should().Be(0, $"kill -{signal} {Process.Id}");
    }

    /// <summary>Kills the process if it still runs and waits for its exit, so its files can be deleted next.</summary>
    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }

        Process.WaitForExit();
        Process.Dispose();
    }
}
