using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace EventStream.Samples.Dashboard.Tests;

/// <summary>
/// The page in a real headless Chromium (Debian's chromium driven by Playwright, no browser download), against the
/// app on a real Kestrel server: live figures, a spike alert, and Replay emptying the dead letters once the fault is fixed;
/// the page asks for the API key once (a prompt, answered by a Playwright dialog handler) and keeps it for the tab.
/// </summary>
public sealed class BrowserTests
{
    private static readonly string[] ChromiumArgs = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

    [Fact]
    public async Task The_page_shows_users_within_two_seconds_a_spike_alert_and_replay_empties_the_dead_letters()
    {
        var chromium = FindChromium() ?? throw new InvalidOperationException(
            "chromium is not installed: the browser test needs a real headless Chromium. Install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH.");
        await using var server = await DashboardServer.StartAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true, Args = ChromiumArgs });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 960 } });
        var prompts = 0;
        page.Dialog += async (_, dialog) =>
        {
            Interlocked.Increment(ref prompts);
            await dialog.AcceptAsync(DashboardServer.ApiKey);
        };
        var failedRequests = new List<string>();
        page.RequestFailed += (_, request) => failedRequests.Add(request.Url);

        await page.GotoAsync(server.Address.ToString());
        await page.WaitForFunctionAsync("() => document.querySelector('#status').textContent.includes('live')", null, new PageWaitForFunctionOptions { Timeout = 10_000 });
        (await page.TextContentAsync("#users-online"))!.Trim().Should().Be("0");

        // 25 users on a new site: the figure changes within 2 seconds.
        var now = DashboardServer.Now();
        var posted = Stopwatch.StartNew();
        (await server.PostEventsAsync(Enumerable.Range(0, 25).Select(i => DashboardServer.View("live.example", "u" + i, "/", now)).ToList())).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await page.WaitForFunctionAsync("() => document.querySelector('#users-online').textContent.trim() === '25'", null, new PageWaitForFunctionOptions { Timeout = 2_000, PollingInterval = 50 });
        posted.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2));

        // A minute of quiet traffic on another site, then a burst in its newest second: an alert appears.
        var second = (DashboardServer.Now() / 1000 * 1000) + 1000;
        var baseline = Enumerable.Range(0, 120).Select(i => DashboardServer.View("spiky.example", "s" + (i % 20), "/", second - 60_000 + (i * 500)));
        var burst = Enumerable.Range(0, 80).Select(i => DashboardServer.View("spiky.example", "b" + i, "/sale", second + i));
        (await server.PostEventsAsync(baseline.Concat(burst).ToList())).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await page.WaitForSelectorAsync("#alerts li.alert", new PageWaitForSelectorOptions { Timeout = 10_000 });
        (await page.TextContentAsync("#alerts li.alert"))!.Should().Contain("spiky.example");
        await page.WaitForSelectorAsync("#top-pages tbody tr", new PageWaitForSelectorOptions { Timeout = 5_000 });

        // Break the geo stage from the page, send checkout traffic: it is dead-lettered.
        await page.ClickAsync("#fault-toggle");
        await page.WaitForFunctionAsync("() => document.querySelector('#fault-toggle').textContent.includes('Fix')", null, new PageWaitForFunctionOptions { Timeout = 5_000 });
        var checkout = Enumerable.Range(0, 6).Select(i => DashboardServer.View("live.example", "c" + i, "/checkout", DashboardServer.Now())).ToList();
        (await server.PostEventsAsync(checkout)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await page.WaitForFunctionAsync("() => document.querySelector('#dead-letter-count').textContent.trim() === '6'", null, new PageWaitForFunctionOptions { Timeout = 10_000 });
        await SaveScreenshotAsync(page);

        // Fix it, press Replay: the dead letters empty.
        await page.ClickAsync("#fault-toggle");
        await page.WaitForFunctionAsync("() => document.querySelector('#fault-toggle').textContent.includes('Break')", null, new PageWaitForFunctionOptions { Timeout = 5_000 });
        await page.ClickAsync("#replay");
        await page.WaitForFunctionAsync("() => document.querySelector('#dead-letter-count').textContent.trim() === '0'", null, new PageWaitForFunctionOptions { Timeout = 10_000 });
        (await page.TextContentAsync("#replay-result"))!.Should().Contain("6 replayed");
        server.Pipeline.GetMetrics().Replayed.Should().Be(6);
        failedRequests.Should().BeEmpty("the page loads nothing from outside the app");
        prompts.Should().Be(1, "the page asks for the key once and keeps it for the tab");
    }

    [Fact]
    public async Task A_wrong_API_key_gets_401_on_the_page_and_the_right_one_switches_the_fault_asked_once_per_tab()
    {
        var chromium = FindChromium() ?? throw new InvalidOperationException(
            "chromium is not installed: the browser test needs a real headless Chromium. Install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH.");
        await using var server = await DashboardServer.StartAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true, Args = ChromiumArgs });
        var fault = server.App.Services.GetRequiredService<FaultSwitch>();

        var stranger = await browser.NewPageAsync();
        stranger.Dialog += async (_, dialog) => await dialog.AcceptAsync("not-the-key");
        await stranger.GotoAsync(server.Address.ToString());
        await stranger.WaitForFunctionAsync("() => document.querySelector('#status').textContent.includes('live')", null, new PageWaitForFunctionOptions { Timeout = 10_000 });
        await stranger.ClickAsync("#fault-toggle");
        await stranger.WaitForSelectorAsync("#fault-error:not([hidden])", new PageWaitForSelectorOptions { Timeout = 5_000 });
        (await stranger.TextContentAsync("#fault-error"))!.Should().Contain("401");
        fault.Enabled.Should().BeFalse();

        var context = await browser.NewContextAsync();
        var operatorPage = await context.NewPageAsync();
        var prompts = 0;
        operatorPage.Dialog += async (_, dialog) =>
        {
            Interlocked.Increment(ref prompts);
            dialog.Type.Should().Be(DialogType.Prompt);
            await dialog.AcceptAsync(DashboardServer.ApiKey);
        };
        await operatorPage.GotoAsync(server.Address.ToString());
        await operatorPage.WaitForFunctionAsync("() => document.querySelector('#status').textContent.includes('live')", null, new PageWaitForFunctionOptions { Timeout = 10_000 });
        await operatorPage.ClickAsync("#fault-toggle");
        await operatorPage.WaitForFunctionAsync("() => document.querySelector('#fault-toggle').textContent.includes('Fix')", null, new PageWaitForFunctionOptions { Timeout = 5_000 });
        fault.Enabled.Should().BeTrue();
        (await operatorPage.IsHiddenAsync("#fault-error")).Should().BeTrue();

        await operatorPage.ReloadAsync();
        await operatorPage.WaitForFunctionAsync("() => document.querySelector('#status').textContent.includes('live')", null, new PageWaitForFunctionOptions { Timeout = 10_000 });
        await operatorPage.ClickAsync("#fault-toggle");
        await operatorPage.WaitForFunctionAsync("() => document.querySelector('#fault-toggle').textContent.includes('Break')", null, new PageWaitForFunctionOptions { Timeout = 5_000 });
        fault.Enabled.Should().BeFalse();
        prompts.Should().Be(1, "the key is kept in the tab's sessionStorage: asked once, not on every request or reload");
        (await operatorPage.EvaluateAsync<string>("() => sessionStorage.getItem('dashboardApiKey')")).Should().Be(DashboardServer.ApiKey);
    }

    /// <summary>Saves the page as a test artifact (next to the test assembly: artifacts/dashboard.png).</summary>
    private static async Task SaveScreenshotAsync(IPage page)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "artifacts", "dashboard.png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        new FileInfo(path).Length.Should().BeGreaterThan(10_000);
    }

    private static string? FindChromium()
    {
        if (Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } configured)
        {
            return configured;
        }

        return new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium" }.FirstOrDefault(File.Exists);
    }
}
