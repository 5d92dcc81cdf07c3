using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EventStream.Tests;

namespace EventStream.AspNetCore.Tests;

/// <summary>
/// samples/EventStream.Samples.NativeAot published with native AOT and run: the door, the dead-letter admin and the
/// health check answer as they do under the JIT. (Before the package wrote its problem details with source-generated
/// metadata, every 4xx of the door came out of an AOT app as an empty 500.)
/// </summary>
public sealed class NativeAotTests
{
    private const string Key = "aot-operator-key";

    [Fact]
    public async Task The_package_works_in_a_native_AOT_app_with_no_trimming_or_AOT_warnings()
    {
        var work = Directory.CreateTempSubdirectory("eventstream-aot-");
        try
        {
            var publish = await RunAsync("dotnet", PublishArguments(work.FullName), TimeSpan.FromMinutes(15));
            publish.ExitCode.Should().Be(0, "the native AOT publish succeeds:\n{0}", publish.Output);
            publish.Output.Should().NotContainAny(["warning IL", "warning AOT"], "no trimming or AOT warnings");

            var binary = Path.Combine(work.FullName, "out", "EventStream.Samples.NativeAot");
            using var app = Process.Start(new ProcessStartInfo(binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment = { ["ASPNETCORE_URLS"] = "http://127.0.0.1:0", ["ApiKey"] = Key, ["Logging__LogLevel__Default"] = "Information" },
            })!;
            try
            {
                var address = await ListeningAddressAsync(app);
                using var client = new HttpClient { BaseAddress = address };

                var post = await client.PostAsync("/events", Json("""[{"id":"a","type":"view","source":"s","timestamp":1,"data":{}},{"id":"b","type":"poison","source":"s","timestamp":2,"data":{}},{"id":"c"}]"""));
                post.StatusCode.Should().Be(HttpStatusCode.Accepted);
                (await post.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("rejected")[0].GetProperty("index").GetInt32().Should().Be(2);
                await TestSupport.Eventually(async () => await client.GetStringAsync("/delivered") == "1", "the good event delivered");

                var plain = await client.PostAsync("/events", new StringContent("x", Encoding.UTF8, "text/plain"));
                plain.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
                plain.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
                (await plain.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetInt32().Should().Be(415);
                var large = await client.PostAsync("/events", Json("[" + string.Join(",", Enumerable.Repeat("""{"id":"a","type":"view","source":"s","timestamp":1,"data":{}}""", 2000)) + "]"));
                large.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
                (await large.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString().Should().Be("The body is too large");

                (await client.GetAsync("/admin/dead-letters")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
                client.DefaultRequestHeaders.Add("X-Api-Key", Key);
                await TestSupport.Eventually(async () => (await client.GetFromJsonAsync<JsonElement>("/admin/dead-letters")).GetProperty("count").GetInt64() == 2, "the poison event and the unreadable element are dead-lettered");
                var stages = (await client.GetFromJsonAsync<JsonElement>("/admin/dead-letters")).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("stage").GetString());
                stages.Should().BeEquivalentTo(["check", "ingest"]);
                var replay = await client.PostAsync("/admin/dead-letters/replay", null);
                replay.StatusCode.Should().Be(HttpStatusCode.OK);
                (await replay.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("failedAgain").GetInt32().Should().Be(1, "the poison event fails again; the unreadable element has no stage to re-enter");
                (await client.GetStringAsync("/healthz")).Should().Be("Healthy");
            }
            finally
            {
                app.Kill(entireProcessTree: true);
                await app.WaitForExitAsync();
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>Published into its own folder, with every project's obj and bin there too (not over the solution's build).</summary>
    private static string[] PublishArguments(string work)
    {
        var arguments = new List<string>
        {
            "publish", Path.Combine(Repository.Root, "samples", "EventStream.Samples.NativeAot", "EventStream.Samples.NativeAot.csproj"),
            "-c", "Release", "-r", "linux-x64", "-o", Path.Combine(work, "out"), $"-p:ArtifactsPath={Path.Combine(work, "artifacts")}",
        };

        // The AOT linker is `clang`; Debian also ships it as clang-<version> only.
        if (!OnPath("clang") && Directory.GetFiles("/usr/bin", "clang-[0-9]*").Where(f => Path.GetFileName(f).Skip(6).All(char.IsDigit)).Order().LastOrDefault() is { } versioned)
        {
            arguments.Add($"-p:CppCompilerAndLinker={Path.GetFileName(versioned)}");
        }

        return [.. arguments];
    }

    private static bool OnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(dir => File.Exists(Path.Combine(dir, command)));

    private static async Task<Uri> ListeningAddressAsync(Process app)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await app.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            const string marker = "Now listening on: ";
            var at = line.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                _ = DrainAsync(app.StandardOutput);
                _ = DrainAsync(app.StandardError);
                return new Uri(line[(at + marker.Length)..].Trim());
            }
        }

        throw new InvalidOperationException("The AOT app ended before it listened: " + await app.StandardError.ReadToEndAsync());
    }

    private static async Task DrainAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is not null)
        {
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cancel.Token);
        return (process.ExitCode, await output + await error);
    }
}
