using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace EventStream.Tests;

/// <summary>
/// Issue 11: a newcomer follows the README word for word — packs the packages, adds the folder as a source, makes a
/// fresh console app and a fresh ASP.NET Core app, pastes the snippets — and both build and run. This test does exactly
/// that with the README's own command lines, in a private home directory (its own NuGet configuration, a copy of the
/// machine's, and its own package cache, so a package packed by an earlier run is never reused).
/// </summary>
public sealed partial class FreshAppTests : IDisposable
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(6);
    private readonly string _root = Repository.Root;
    private readonly string _dir = Directory.CreateTempSubdirectory("eventstream-fresh-").FullName;
    private readonly string _home;
    private readonly string _readme;

    public FreshAppTests()
    {
        _home = Path.Combine(_dir, "home");
        Directory.CreateDirectory(_home);
        var machineConfig = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "NuGet", "NuGet.Config");
        if (File.Exists(machineConfig))
        {
            Directory.CreateDirectory(Path.Combine(_home, ".nuget", "NuGet"));
            File.Copy(machineConfig, Path.Combine(_home, ".nuget", "NuGet", "NuGet.Config"));
        }

        _readme = File.ReadAllText(Path.Combine(_root, "README.md")).ReplaceLineEndings("\n");
    }

    [Fact]
    public async Task A_console_app_and_a_web_app_made_as_the_README_says_build_and_run_against_the_packed_packages()
    {
        // Install: pack into a folder and add it as a source. The solution was built by the test command already, so the
        // pack line runs with --no-build (building again would overwrite binaries the other test assemblies are running).
        var install = Commands(Section("## Install"), 0);
        install.Should().Equal("dotnet pack EventStream.sln -c Release -o ~/eventstream-packages", "dotnet nuget add source ~/eventstream-packages --name eventstream");
        Commands(Section("## Install"), 1).Should().Equal("dotnet add package EventStream.Core", "dotnet add package EventStream.AspNetCore", "dotnet add package EventStream.Redis", "dotnet add package EventStream.Testing");
        await RunScriptAsync(_root, install[0].Replace("-c Release", "-c " + Configuration, StringComparison.Ordinal) + " --no-build", install[1]);
        Directory.GetFiles(Path.Combine(_home, "eventstream-packages"), "*.nupkg").Select(Path.GetFileName)
            .Should().Contain(n => n!.StartsWith("EventStream.Core.", StringComparison.Ordinal))
            .And.Contain(n => n!.StartsWith("EventStream.Redis.", StringComparison.Ordinal))
            .And.Contain(n => n!.StartsWith("EventStream.AspNetCore.", StringComparison.Ordinal))
            .And.Contain(n => n!.StartsWith("EventStream.Testing.", StringComparison.Ordinal));

        // Quick start: a fresh console app; the README's commands with Program.cs replaced where it says so.
        var quickStart = Commands(Section("## Quick start"), 0);
        quickStart.Should().Equal("dotnet new console -o QuickStart && cd QuickStart", "dotnet add package EventStream.Core", "<Program.cs>", "dotnet run");
        var work = Path.Combine(_dir, "work");
        Directory.CreateDirectory(work);
        var output = await RunScriptAsync(work, Paste(quickStart, Path.Combine(_root, "samples", "EventStream.Samples.QuickStart", "Program.cs")));
        output.Should().Contain("home=2, docs=2", "the quick start prints what the README says it prints");
        File.ReadAllText(Path.Combine(work, "QuickStart", "QuickStart.csproj")).Should().Contain("Include=\"EventStream.Core\"", "it ran against the package, not the project");
        Directory.Exists(Path.Combine(_home, ".nuget", "packages", "eventstream.core")).Should().BeTrue("the package came from the packed folder into this test's own cache");

        // Hosting: a fresh web app; built, then run on a free port, sent the README's curl body, and its log read.
        var hosting = Commands(Section("## Hosting"), 0);
        hosting.Should().Equal("dotnet new web -o Site && cd Site", "dotnet add package EventStream.Core", "<Program.cs>", "dotnet run --urls http://127.0.0.1:5080");
        await RunScriptAsync(work, [.. Paste(hosting[..3], Path.Combine(_root, "samples", "EventStream.Samples.Hosting", "Program.cs")), "dotnet build"]);
        var body = CurlBody().Match(Section("## Hosting")).Groups[1].Value.Replace("\n", " ", StringComparison.Ordinal);
        body.Should().Contain("\"url\":\"/Home\"", "the README shows a curl command with a JSON body");

        var port = FreePort();
        using var site = Start(Path.Combine(work, "Site"), "dotnet", "run", "--no-build", "--urls", $"http://127.0.0.1:{port}");
        var log = new StringBuilder();
        var logged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        site.OutputDataReceived += (_, e) =>
        {
            lock (log)
            {
                log.AppendLine(e.Data);
            }

            if (e.Data?.Contains("Page view: example.com/home by u1", StringComparison.Ordinal) == true)
            {
                logged.TrySetResult();
            }
        };
        site.ErrorDataReceived += (_, e) =>
        {
            lock (log)
            {
                log.AppendLine(e.Data);
            }
        };
        site.BeginOutputReadLine();
        site.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var response = await PostWhenUpAsync(http, body, site);
            response.StatusCode.Should().Be(HttpStatusCode.Accepted, "the endpoint admits the batch; log: {0}", log);
            (await response.Content.ReadAsStringAsync()).Should().Contain("\"accepted\":1");
            (await Task.WhenAny(logged.Task, Task.Delay(TimeSpan.FromSeconds(60)))).Should().Be(logged.Task, "the sink logs the normalised page view; log: {0}", log);
        }
        finally
        {
            site.Kill(entireProcessTree: true);
            await site.WaitForExitAsync();
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // a file still held by a process that is going away: the temp folder is cleaned by the OS
        }
    }

    private static string Configuration => new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;

    private string Section(string heading)
    {
        var start = _readme.IndexOf("\n" + heading + "\n", StringComparison.Ordinal);
        start.Should().BePositive("the README has a section {0}", heading);
        var end = _readme.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        return _readme[start..(end < 0 ? _readme.Length : end)];
    }

    /// <summary>The command lines of the section's n-th bash block; its "replace Program.cs" comment becomes "&lt;Program.cs&gt;".</summary>
    private static List<string> Commands(string section, int block)
    {
        var blocks = BashBlock().Matches(section);
        blocks.Count.Should().BeGreaterThan(block, "the section shows its commands");
        return [.. blocks[block].Groups[1].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.StartsWith("# replace Program.cs", StringComparison.Ordinal) ? "<Program.cs>" : l)
            .Where(l => !l.StartsWith('#'))
            .Select(l => CommentAfter().Replace(l, string.Empty))];
    }

    private static string[] Paste(IEnumerable<string> commands, string program) =>
        [.. commands.Select(c => c == "<Program.cs>" ? $"cp '{program}' Program.cs" : c)];

    private async Task<string> RunScriptAsync(string directory, params string[] lines)
    {
        var script = "set -euo pipefail\n" + string.Join('\n', lines) + "\n";
        using var process = Start(directory, "bash", "-c", script);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(StepTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"still running after {StepTimeout}:\n{script}");
        }

        var output = await stdout + await stderr;
        process.ExitCode.Should().Be(0, "these README lines succeed:\n{0}\noutput:\n{1}", script, output);
        return output;
    }

    /// <summary>A child process with this test's private home: its own NuGet configuration and package cache.</summary>
    private Process Start(string directory, string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // What `dotnet test` sets for its own MSBuild and test host must not steer the fresh apps' builds, and the package
        // cache is the private home's; the machine's other NuGet settings (revocation mode, say) stay.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                     || k.Equals("NUGET_PACKAGES", StringComparison.OrdinalIgnoreCase) || k.Equals("NUGET_FALLBACK_PACKAGES", StringComparison.OrdinalIgnoreCase)
                     || k.Equals("DOTNET_CLI_HOME", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["HOME"] = _home;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        return Process.Start(start) ?? throw new InvalidOperationException("could not start " + file);
    }

    private static async Task<HttpResponseMessage> PostWhenUpAsync(HttpClient http, string body, Process site)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            try
            {
                return await http.PostAsync("/events", new StringContent(body, Encoding.UTF8, "application/json"));
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !site.HasExited)
            {
                await Task.Delay(250); // Kestrel is still starting: polled, not a timed assertion
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }


    [GeneratedRegex("```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();

    [GeneratedRegex(@"\s+#\s.*$")]
    private static partial Regex CommentAfter();

    [GeneratedRegex(@"-d\s*'(\[.*?\])'", RegexOptions.Singleline)]
    private static partial Regex CurlBody();
}
