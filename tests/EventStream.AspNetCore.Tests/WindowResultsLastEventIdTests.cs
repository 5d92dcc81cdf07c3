using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace EventStream.AspNetCore.Tests;

/// <summary>The in-memory feed behind the one SSE writer: a <c>Last-Event-ID</c> it cannot read is a 400, as for every source.</summary>
public sealed class WindowResultsLastEventIdTests
{
    [Fact]
    public async Task A_Last_Event_ID_that_is_not_a_whole_number_is_answered_400_instead_of_silently_starting_from_now()
    {
        using var feed = new WindowResultFeed<string, long>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.MapWindowResults("/live", feed);
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/live");
        request.Headers.Add("Last-Event-ID", "r0.1.2");

        using var response = await client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString()
            .Should().Be("Last-Event-ID: 'r0.1.2' is not an id of this feed (its ids are whole numbers). Reconnect without it to start from now.");
        await app.StopAsync();
    }
}
