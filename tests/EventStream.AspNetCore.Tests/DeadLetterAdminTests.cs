using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EventStream.Tests;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventStream.AspNetCore.Tests;

/// <summary>The dead-letter admin endpoints over Kestrel: nobody gets in without authentication; list, replay, discard.</summary>
public sealed class DeadLetterAdminTests : IAsyncLifetime
{
    private const string Key = ApiKeyHandler.Key;
    private WebApplication _app = null!;
    private HttpClient _anonymous = null!;
    private HttpClient _operator = null!;
    private volatile bool _broken = true;

    private IEventPipeline<PipelineEvent> Pipeline => _app.Services.GetRequiredService<IEventPipeline<PipelineEvent>>();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication(ApiKeyHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.AddEventPipeline<PipelineEvent>("events", (p, _) => p
            .Transform("geo", e => _broken ? throw new TimeoutException("geo is down") : e)
            .Sink("s", _ => { })
            .Build())
            .ConfigureOptions(o => o.Retry = RetryOptions.None);
        _app = builder.Build();
        _app.UseAuthentication();
        _app.UseAuthorization();
        _app.MapEventIngest<PipelineEvent>("/events");
        _app.MapDeadLetters<PipelineEvent>("/admin/dead-letters");
        await _app.StartAsync();
        var address = new Uri(_app.Urls.First());
        _anonymous = new HttpClient { BaseAddress = address };
        _operator = new HttpClient { BaseAddress = address };
        _operator.DefaultRequestHeaders.Add("X-Api-Key", Key);
    }

    public async Task DisposeAsync()
    {
        _anonymous.Dispose();
        _operator.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task PostFailingAsync(int count)
    {
        var body = "[" + string.Join(",", Enumerable.Range(0, count).Select(i => "{\"id\":\"e" + i + "\",\"type\":\"t\",\"source\":\"s\",\"timestamp\":" + i + ",\"data\":{}}")) + "]";
        (await _anonymous.PostAsync("/events", new StringContent(body, System.Text.Encoding.UTF8, "application/json"))).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await TestSupport.Eventually(() => Pipeline.GetMetrics().DeadLettered == count, "every event dead-lettered");
    }

    [Theory]
    [InlineData("GET", "/admin/dead-letters")]
    [InlineData("POST", "/admin/dead-letters/replay")]
    [InlineData("POST", "/admin/dead-letters/discard")]
    public async Task No_one_gets_in_without_authentication(string method, string path)
    {
        // The dashboard's dead-letter list, replay and fault switch answered anyone who could reach the port.
        await PostFailingAsync(1);

        var response = await _anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = JsonContent.Create(new { reason = "failed" }) });

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await Pipeline.DeadLetters.CountAsync("events")).Should().Be(1, "nothing was replayed or discarded");
    }

    [Fact]
    public async Task An_operator_lists_replays_and_discards()
    {
        await PostFailingAsync(3);

        var page = JsonDocument.Parse(await _operator.GetStringAsync("/admin/dead-letters?limit=2")).RootElement;
        page.GetProperty("count").GetInt64().Should().Be(3);
        page.GetProperty("entries").GetArrayLength().Should().Be(2);
        var first = page.GetProperty("entries")[0];
        first.GetProperty("stage").GetString().Should().Be("geo");
        first.GetProperty("reason").GetString().Should().Be("failed");
        first.GetProperty("message").GetString().Should().Contain("geo is down");
        first.GetProperty("event").GetString().Should().Contain("\"id\":\"e0\"");

        var badLimit = await _operator.GetAsync("/admin/dead-letters?limit=0");
        badLimit.StatusCode.Should().Be(HttpStatusCode.BadRequest);

        // The next page starts after the first: the third entry, and no cursor after it.
        var next = page.GetProperty("next").GetString();
        var rest = JsonDocument.Parse(await _operator.GetStringAsync($"/admin/dead-letters?limit=2&after={Uri.EscapeDataString(next!)}")).RootElement;
        rest.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("event").GetString()).Should().ContainSingle().Which.Should().Contain("\"id\":\"e2\"");
        rest.GetProperty("next").ValueKind.Should().Be(JsonValueKind.Null);
        var badAfter = await _operator.GetAsync("/admin/dead-letters?after=yesterday");
        badAfter.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await badAfter.Content.ReadAsStringAsync()).Should().Contain("not a dead-letter cursor");

        var stillBroken = JsonDocument.Parse(await (await _operator.PostAsync("/admin/dead-letters/replay?max=1", null)).Content.ReadAsStringAsync()).RootElement;
        stillBroken.GetProperty("failedAgain").GetInt32().Should().Be(1);
        stillBroken.GetProperty("remaining").GetInt64().Should().Be(3);

        _broken = false;
        var replay = JsonDocument.Parse(await (await _operator.PostAsync("/admin/dead-letters/replay?max=1", null)).Content.ReadAsStringAsync()).RootElement;
        replay.GetProperty("replayed").GetInt32().Should().Be(1);
        replay.GetProperty("remaining").GetInt64().Should().Be(2);

        var noFilter = await _operator.PostAsJsonAsync("/admin/dead-letters/discard", new { });
        noFilter.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var badReason = await _operator.PostAsJsonAsync("/admin/dead-letters/discard", new { reason = "whatever" });
        badReason.StatusCode.Should().Be(HttpStatusCode.BadRequest);

        var discard = await _operator.PostAsJsonAsync("/admin/dead-letters/discard", new { reason = "failed" });
        discard.StatusCode.Should().Be(HttpStatusCode.OK);
        var discarded = JsonDocument.Parse(await discard.Content.ReadAsStringAsync()).RootElement;
        discarded.GetProperty("discarded").GetInt64().Should().Be(2);
        discarded.GetProperty("remaining").GetInt64().Should().Be(0);
        Pipeline.GetMetrics().Discarded.Should().Be(2, "each discarded entry is counted");
    }
}
