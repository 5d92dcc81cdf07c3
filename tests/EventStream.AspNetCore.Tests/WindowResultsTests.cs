using System.Collections.Concurrent;
using EventStream.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace EventStream.AspNetCore.Tests;

/// <summary>The live feed over a real Kestrel server, on a fake clock: cadence, heartbeat, resume, gaps, shutdown.</summary>
public sealed class WindowResultsTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch.AddDays(20_000));
    private WebApplication _app = null!;
    private WindowResultFeed<string, long> _feed = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _feed = new WindowResultFeed<string, long>(new WindowResultFeedOptions { TimeProvider = _time, Retained = 3 });
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapWindowResults("/live", _feed);
        await _app.StartAsync();
        _client = new HttpClient { BaseAddress = new Uri(_app.Urls.First()), Timeout = Timeout.InfiniteTimeSpan };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _feed.Dispose();
    }

    private static WindowResult<string, long> Result(string key, long value) => new(key, 0, 60_000, value, value, WindowFiring.Early, 1);

    /// <summary>Opens the stream and collects its lines as they come.</summary>
    private async Task<(ConcurrentQueue<string> Lines, Task Ended)> OpenAsync(long? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/live");
        if (lastEventId is { } id)
        {
            request.Headers.Add("Last-Event-ID", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var lines = new ConcurrentQueue<string>();
        var ended = Task.Run(async () =>
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                lines.Enqueue(line);
            }
        });
        await TestSupport.Eventually(() => lines.Contains(": connected"), "the stream opens");
        return (lines, ended);
    }

    /// <summary>Advances the clock a step at a time until the condition holds (the server may be between two waits).</summary>
    private async Task AdvanceUntil(Func<bool> condition, TimeSpan step, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "{0}", what);
            _time.Advance(step);
            await Task.Delay(10); // real time for the server's loop to run; the assertion is on what arrives, not on timing
        }
    }

    [Fact]
    public async Task The_results_of_an_interval_arrive_as_one_message_and_an_idle_stream_gets_heartbeats()
    {
        var (lines, _) = await OpenAsync();
        _feed.Publish(Result("/home", 3));
        _feed.Publish(Result("/docs", 1));

        await AdvanceUntil(() => lines.Any(l => l.StartsWith("data:", StringComparison.Ordinal)), TimeSpan.FromSeconds(1), "the interval's message");
        lines.Should().ContainInOrder("event: results", "id: 1");
        var data = lines.Single(l => l.StartsWith("data:", StringComparison.Ordinal));
        data.Should().Contain("\"key\":\"/home\"").And.Contain("\"key\":\"/docs\"").And.Contain("\"firing\":\"early\"");

        await AdvanceUntil(() => lines.Contains(": heartbeat"), TimeSpan.FromSeconds(5), "a heartbeat while idle");
        lines.Count(l => l.StartsWith("id:", StringComparison.Ordinal)).Should().Be(1, "an interval without results sends nothing");
    }

    [Fact]
    public async Task A_client_that_reconnects_with_Last_Event_ID_gets_what_it_missed_and_is_told_of_what_is_gone()
    {
        var (first, _) = await OpenAsync();
        for (var i = 1; i <= 5; i++)
        {
            _feed.Publish(Result("/k", i));
            var expected = $"id: {i}";
            await AdvanceUntil(() => first.Contains(expected), TimeSpan.FromSeconds(1), "message " + i);
        }

        // Retained = 3: messages 3, 4, 5 are held. A client that saw 4 gets 5; one that saw 1 is told 2 is gone.
        var (resumed, _) = await OpenAsync(lastEventId: 4);
        await TestSupport.Eventually(() => resumed.Contains("id: 5"), "the missed message is resent");
        resumed.Should().NotContain("id: 4").And.NotContain("event: gap");

        var (behind, _) = await OpenAsync(lastEventId: 1);
        await TestSupport.Eventually(() => behind.Contains("id: 5"), "the held messages are resent");
        behind.Should().ContainInOrder("event: gap", "data: {\"missingFrom\":2,\"missingTo\":2}", "id: 3", "id: 4", "id: 5");
    }

    [Fact]
    public async Task The_stream_ends_when_the_application_stops()
    {
        var (_, ended) = await OpenAsync();

        await _app.StopAsync();

        (await Task.WhenAny(ended, Task.Delay(TimeSpan.FromSeconds(20)))).Should().Be(ended, "the server ends the stream on shutdown");
    }
}
