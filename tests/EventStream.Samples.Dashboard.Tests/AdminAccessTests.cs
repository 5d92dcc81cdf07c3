using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EventStream.Samples.Dashboard;
using Microsoft.Extensions.DependencyInjection;
using static EventStream.Samples.Dashboard.Tests.DashboardServer;

namespace EventStream.Samples.Dashboard.Tests;

/// <summary>The dead letters, replay, discard and the fault switch answer only callers that send the API key; posting stays open.</summary>
public sealed class AdminAccessTests
{
    private static readonly (HttpMethod Method, string Path)[] AdminEndpoints =
    [
        (HttpMethod.Get, "/api/dead-letters"),
        (HttpMethod.Post, "/api/dead-letters/replay"),
        (HttpMethod.Post, "/api/dead-letters/discard"),
        (HttpMethod.Post, "/api/fault"),
    ];

    [Fact]
    public async Task Without_the_API_key_or_with_a_wrong_one_every_admin_endpoint_answers_401_and_changes_nothing()
    {
        // Was: answered anyone who could reach the port (the dead letters hold users' ids and URLs).
        await using var server = await StartAsync();
        foreach (var (method, path) in AdminEndpoints)
        {
            foreach (var key in new string?[] { null, "", "wrong", ApiKey + "x" })
            {
                var response = await SendAsync(server, method, path, key);
                response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, $"{method} {path} with key '{key}'");
                response.Headers.WwwAuthenticate.ToString().Should().Be(ApiKeyAuthentication.Scheme);
            }
        }

        server.App.Services.GetRequiredService<FaultSwitch>().Enabled.Should().BeFalse("no refused request switched the fault");
    }

    [Fact]
    public async Task With_the_API_key_the_dead_letters_are_listed_replayed_and_discarded_and_the_fault_switched()
    {
        await using var server = await StartAsync();
        (await SendAsync(server, HttpMethod.Post, "/api/fault", ApiKey, new { enabled = true })).StatusCode.Should().Be(HttpStatusCode.NoContent);
        server.App.Services.GetRequiredService<FaultSwitch>().Enabled.Should().BeTrue();
        (await server.PostEventsAsync(new object[] { View("a.example", "u", "/checkout"), 42 })).StatusCode.Should().Be(HttpStatusCode.Accepted, "posting events stays open");
        await server.DrainedAsync();

        var list = await (await SendAsync(server, HttpMethod.Get, "/api/dead-letters", ApiKey)).Content.ReadFromJsonAsync<JsonElement>();
        list.GetProperty("count").GetInt64().Should().Be(2);
        var bad = list.GetProperty("entries").EnumerateArray().Single(e => e.GetProperty("stage").GetString() == "ingest").GetProperty("id").GetString();

        var discard = await SendAsync(server, HttpMethod.Post, "/api/dead-letters/discard", ApiKey, new { ids = new[] { bad } });
        discard.StatusCode.Should().Be(HttpStatusCode.OK);
        (await discard.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("discarded").GetInt64().Should().Be(1);

        (await SendAsync(server, HttpMethod.Post, "/api/fault", ApiKey, new { enabled = false })).EnsureSuccessStatusCode();
        var replay = await (await SendAsync(server, HttpMethod.Post, "/api/dead-letters/replay", ApiKey)).Content.ReadFromJsonAsync<JsonElement>();
        (replay.GetProperty("replayed").GetInt32(), replay.GetProperty("remaining").GetInt64()).Should().Be((1, 0L));
        (await server.Client.GetAsync("/api/metrics")).StatusCode.Should().Be(HttpStatusCode.OK, "the metrics stay open");
    }

    [Fact]
    public async Task Without_a_configured_key_a_generated_one_guards_the_admin_endpoints_so_they_are_never_open()
    {
        await using var server = await StartWithoutKeyAsync();
        foreach (var (method, path) in AdminEndpoints)
        {
            (await SendAsync(server, method, path, null)).StatusCode.Should().Be(HttpStatusCode.Unauthorized, $"{method} {path}, from loopback, with no key configured");
        }

        (await server.PostEventsAsync(new[] { View("a.example", "u", "/") })).StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    private static async Task<HttpResponseMessage> SendAsync(DashboardServer server, HttpMethod method, string path, string? key, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? (method == HttpMethod.Post ? JsonContent.Create(new { enabled = true }) : null) : JsonContent.Create(body) };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation(ApiKeyAuthentication.Header, key);
        }

        return await server.Client.SendAsync(request);
    }
}
