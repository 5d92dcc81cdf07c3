using EventStream.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventStream.AspNetCore.Tests;

/// <summary>
/// The package's endpoints in the API explorer that OpenAPI generators (Microsoft.AspNetCore.OpenApi, Swashbuckle) read:
/// what each accepts and answers, though they are plain request delegates.
/// </summary>
public sealed class OpenApiMetadataTests
{
    [Fact]
    public async Task The_door_the_admin_endpoints_and_the_live_feed_describe_what_they_accept_and_answer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddAuthorization();
        builder.Services.AddEventPipeline<PipelineEvent>("events", (p, _) => p.Sink("s", _ => { }).Build());
        await using var app = builder.Build();
        using var feed = new WindowResultFeed<string, long>();
        app.MapEventIngest<PipelineEvent>("/events");
        app.MapDeadLetters<PipelineEvent>("/admin/dead-letters");
        app.MapWindowResults("/live", feed);
        await app.StartAsync(); // the endpoints reach the API explorer once the app's pipeline is built

        var described = app.Services.GetRequiredService<IApiDescriptionGroupCollectionProvider>().ApiDescriptionGroups.Items
            .SelectMany(g => g.Items)
            .ToDictionary(d => $"{d.HttpMethod} /{d.RelativePath}");

        // The group's own GET is listed with the group's trailing slash (the API explorer's way for a group root).
        described.Keys.Order().Should().Equal(
            "GET /admin/dead-letters/", "GET /live", "POST /admin/dead-letters/discard", "POST /admin/dead-letters/replay", "POST /events");
        var door = described["POST /events"];
        door.SupportedResponseTypes.Select(r => r.StatusCode).Should().BeEquivalentTo([202, 400, 413, 415, 429, 503]);
        door.SupportedResponseTypes.Single(r => r.StatusCode == 202).Type.Should().Be<EventIngestResult>();
        door.SupportedResponseTypes.Single(r => r.StatusCode == 429).ApiResponseFormats.Select(f => f.MediaType).Should().Equal("application/problem+json");
        described["GET /admin/dead-letters/"].SupportedResponseTypes.Single(r => r.StatusCode == 200).Type.Should().Be<DeadLetterPage>();
        described["POST /admin/dead-letters/discard"].SupportedResponseTypes.Single(r => r.StatusCode == 200).Type.Should().Be<DeadLetterDiscardAnswer>();
        described["GET /live"].SupportedResponseTypes.Single(r => r.StatusCode == 200).ApiResponseFormats.Select(f => f.MediaType).Should().Equal("text/event-stream");
        await app.StopAsync();
    }
}
