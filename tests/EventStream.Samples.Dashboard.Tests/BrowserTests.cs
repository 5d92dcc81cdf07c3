using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace EventStream.Samples.Dashboard.Tests;

/// <summary>
/// The page in a real headless Chromium (Debian's chromium driven by Playwright, no browser download), against the
/// app on a real Kestrel server: live figures, a spike alert, and Replay emptying the dead letters once the fault is fixed.
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
        var failedRequests = new List<string>();
        page.RequestFailed += (_, request) => failedRequests.Add(request.Url);

        await page.GotoAsync(server.Address.ToString());
        await page.WaitForFunctionAsync("() => document.querySelector('#status').textContent.includes('live')", null, new PageWaitForFunctionOptions { Timeout = 10_000 });
        (await page.TextContentAsync("#users-online"))!.Trim().Should().Be("0");

        // 25 users on a new site: the figure changes within 2 seconds.
        var now = DashboardServer.Now();
        var posted = Stopwatch.StartNew();
        (await server.PostEventsAsync(Enumerable.Range(0, 25).Select(i => new { site = "live.example", user = "u" + i, url = "/", timestamp = now }).ToList())).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await page.WaitForFunctionAsync("() => document.querySelector('#users-online').textContent.trim() === '25'", null, new PageWaitForFunctionOptions { Timeout = 2_000, PollingInterval = 50 });
        posted.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2));

        // A minute of quiet traffic on another site, then a burst in its newest second: an alert appears.
        var second = (DashboardServer.Now() / 1000 * 1000) + 1000;
        var baseline = Enumerable.Range(0, 120).Select(i => new { site = "spiky.example", user = "s" + (i % 20), url = "/", timestamp = second - 60_000 + (i * 500) });
        var burst = Enumerable.Range(0, 80).Select(i => new { site = "spiky.example", user = "b" + i, url = "/sale", timestamp = second + i });
        (await server.PostEventsAsync(baseline.Concat(burst).ToList())).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await page.WaitForSelectorAsync("#alerts li.alert", new PageWaitForSelectorOptions { Timeout = 10_000 });
        (await page.TextContentAsync("#alerts li.alert"))!.Should().Contain("spiky.example");
        await page.WaitForSelectorAsync("#top-pages tbody tr", new PageWaitForSelectorOptions { Timeout = 5_000 });

        // Break the geo stage from the page, send checkout traffic: it is dead-lettered.
        await page.ClickAsync("#fault-toggle");
        await page.WaitForFunctionAsync("() => document.querySelector('#fault-toggle').textContent.includes('Fix')", null, new PageWaitForFunctionOptions { Timeout = 5_000 });
        var checkout = Enumerable.Range(0, 6).Select(i => new { site = "live.example", user = "c" + i, url = "/checkout", timestamp = DashboardServer.Now() }).ToList();
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
    }

    [Fact]
    public async Task With_an_operator_token_the_page_switches_the_fault_when_its_address_carries_the_token_and_says_why_not_otherwise()
    {
        var chromium = FindChromium() ?? throw new InvalidOperationException(
            "chromium is not installed: the browser test needs a real headless Chromium. Install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH.");
        await using var server = await DashboardServer.StartAsync("--operator-token", "t0ken");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true, Args = ChromiumArgs });
        var fault = server.App.Services.GetRequiredService<FaultSwitch>();

        var anonymous = await browser.NewPageAsync();
        await anonymous.GotoAsync(server.Address.ToString());
        await anonymous.WaitForFunctionAsync("() => document.querySelector('#status').textContent.includes('live')", null, new PageWaitForFunctionOptions { Timeout = 10_000 });
        await anonymous.ClickAsync("#fault-toggle");
        await anonymous.WaitForSelectorAsync("#fault-error:not([hidden])", new PageWaitForSelectorOptions { Timeout = 5_000 });
        (await anonymous.TextContentAsync("#fault-error"))!.Should().Contain("401");
        fault.Enabled.Should().BeFalse();

        var operatorPage = await browser.NewPageAsync();
        await operatorPage.GotoAsync(server.Address + "#token=t0ken");
        await operatorPage.WaitForFunctionAsync("() => document.querySelector('#status').textContent.includes('live')", null, new PageWaitForFunctionOptions { Timeout = 10_000 });
        (await operatorPage.EvaluateAsync<string>("() => window.location.hash")).Should().BeEmpty("the token is taken out of the address bar");
        await operatorPage.ClickAsync("#fault-toggle");
        await operatorPage.WaitForFunctionAsync("() => document.querySelector('#fault-toggle').textContent.includes('Fix')", null, new PageWaitForFunctionOptions { Timeout = 5_000 });
        fault.Enabled.Should().BeTrue();
        (await operatorPage.IsHiddenAsync("#fault-error")).Should().BeTrue();
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
