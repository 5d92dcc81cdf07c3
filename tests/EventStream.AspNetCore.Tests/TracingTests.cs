using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EventStream.Tests;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;

namespace EventStream.AspNetCore.Tests;

[CollectionDefinition(nameof(TracesAlone), DisableParallelization = true)]
public sealed class TracesAlone;

/// <summary>
/// The chain a collector sees, with the OpenTelemetry SDK and its in-memory exporter over a real Kestrel server: the
/// HTTP request → the batch's ingest span → a process span per segment linked to it → dead letters with the request's
/// trace id → a replay span linked back to them.
/// </summary>
/// <remarks>The SDK listens process-wide (every test server's requests and pipelines): this test runs alone.</remarks>
[Collection(nameof(TracesAlone))]
public sealed class TracingTests
{
    [Fact]
    public async Task A_dead_letter_is_tied_to_the_request_that_brought_its_event_and_the_replay_links_back_to_it()
    {
        var exported = new List<Activity>();
        var broken = true;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddOpenTelemetry().WithTracing(t => t
            .AddSource(EventStreamTracing.ActivitySourceName)
            .AddAspNetCoreInstrumentation()
            .AddInMemoryExporter(exported));
        builder.Services.AddAuthentication(ApiKeyHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.AddEventPipeline<PipelineEvent>("traced-http", (p, _) => p
                .Transform("geo", e => Volatile.Read(ref broken) && e.Type == "flaky" ? throw new TimeoutException("geo is down") : e)
                .Sink("s", _ => { })
                .Build())
            .ConfigureOptions(o => o.Retry = RetryOptions.None);
        await using var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapEventIngest<PipelineEvent>("/events");
        app.MapDeadLetters<PipelineEvent>("/admin/dead-letters");
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKeyHandler.Key);
        var pipeline = app.Services.GetRequiredService<IEventPipeline<PipelineEvent>>();

        var body = """[{"id":"a","type":"ok","source":"s","timestamp":1,"data":{}},{"id":"b","type":"flaky","source":"s","timestamp":2,"data":{}},{"id":"c"}]""";
        (await client.PostAsync("/events", new StringContent(body, Encoding.UTF8, "application/json"))).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await TestSupport.Eventually(() => pipeline.GetMetrics() is { InFlight: 0, DeadLettered: 1 }, "the flaky event dead-lettered");

        var post = await SpanAsync(exported, s => s.Kind == ActivityKind.Server && s.DisplayName.StartsWith("POST /events", StringComparison.Ordinal));
        var ingest = await SpanAsync(exported, s => s.OperationName == EventStreamTracing.Ingest);
        ingest.ParentSpanId.Should().Be(post.SpanId, "the batch is admitted inside the request");
        ingest.TraceId.Should().Be(post.TraceId);
        var process = await SpanAsync(exported, s => s.OperationName == EventStreamTracing.Process);
        process.Links.Select(l => l.Context.SpanId).Should().Equal(ingest.SpanId);
        process.TraceId.Should().NotBe(post.TraceId, "a batch span is its own trace, linked to the ingest span");

        // Both dead letters (the element the door could not read, and the event the stage failed) name the request's trace.
        var page = await client.GetFromJsonAsync<JsonElement>("/admin/dead-letters");
        var traceIds = page.GetProperty("entries").EnumerateArray().ToDictionary(e => e.GetProperty("stage").GetString()!, e => e.GetProperty("traceId").GetString());
        traceIds.Should().BeEquivalentTo(new Dictionary<string, string?> { ["ingest"] = post.TraceId.ToHexString(), ["geo"] = post.TraceId.ToHexString() });
        var stored = (await pipeline.DeadLetters.ListAsync("traced-http")).Single(e => e.Stage == "geo");

        Volatile.Write(ref broken, false);
        var replay = await client.PostAsync("/admin/dead-letters/replay", null);

        replay.StatusCode.Should().Be(HttpStatusCode.OK);
        var replaySpan = await SpanAsync(exported, s => s.OperationName == EventStreamTracing.Replay);
        var replayRequest = await SpanAsync(exported, s => s.Kind == ActivityKind.Server && s.DisplayName.StartsWith("POST /admin/dead-letters/replay", StringComparison.Ordinal));
        replaySpan.ParentSpanId.Should().Be(replayRequest.SpanId, "the replay runs inside the operator's request");
        replaySpan.Links.Select(l => l.Context.TraceId).Should().AllBeEquivalentTo(post.TraceId, "the replay links back to the request that brought the events");
        replaySpan.Links.Select(l => PipelineTraceParent(l.Context)).Should().Contain(stored.TraceParent);
        await app.StopAsync();
    }

    private static string PipelineTraceParent(ActivityContext context) => $"00-{context.TraceId}-{context.SpanId}-{(byte)context.TraceFlags:x2}";

    /// <summary>The one exported span that matches, once it is exported (a server span ends after its response is sent).</summary>
    private static async Task<Activity> SpanAsync(List<Activity> exported, Func<Activity, bool> match)
    {
        List<Activity> Matching()
        {
            lock (exported)
            {
                return [.. exported.Where(match)];
            }
        }

        await TestSupport.Eventually(() => Matching().Count > 0, "the span is exported");
        return Matching().Should().ContainSingle().Subject;
    }
}
