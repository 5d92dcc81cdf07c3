using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using static EventStream.Samples.Dashboard.Tests.DashboardServer;

namespace EventStream.Samples.Dashboard.Tests;

/// <summary>
/// The attacks of issue 12, each over a real socket against the rebuilt sample: each failed on the hand-written door
/// (a full dead-letter store for ever, an empty 500, unbounded memory, cross-site posts, a 429 that can never succeed).
/// </summary>
public sealed class AttackTests
{
    [Fact]
    public async Task A_flood_of_50001_events_stamped_0_is_refused_whole_fills_nothing_and_later_posts_are_still_admitted()
    {
        // Was: accepted (0 was a valid timestamp), 100,002 late dead letters, the store full, every later post 429 for ever.
        await using var server = await StartAsync();
        using var counts = new IngestCounts(server);
        var flood = new StringBuilder("[");
        for (var i = 0; i < 50_001; i++)
        {
            flood.Append(i == 0 ? "" : ",").Append("{\"id\":\"i\",\"type\":\"v\",\"source\":\"a\",\"timestamp\":0,\"data\":{\"url\":\"/\",\"userId\":\"u\"}}");
        }

        var body = flood.Append(']').ToString();
        Encoding.UTF8.GetByteCount(body).Should().BeLessThan((int)DashboardApp.DefaultMaxBodyBytes, "the flood fits in one request");

        var response = await server.Client.PostAsync("/api/events", new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors")[0].GetProperty("error").GetString().Should().Contain("older than the window's horizon");
        counts.Of("refused").Should().Be(50_001);
        server.Pipeline.GetMetrics().Accepted.Should().Be(0);
        (await server.GetAdminJsonAsync("/api/dead-letters")).GetProperty("count").GetInt64().Should().Be(0);
        for (var i = 0; i < 3; i++)
        {
            (await server.PostEventsAsync(new[] { View("a.example", "u" + i, "/") })).StatusCode.Should().Be(HttpStatusCode.Accepted, "the door still admits");
        }
    }

    [Fact]
    public async Task Invalid_UTF8_inside_a_string_rejects_that_element_with_the_reason_not_a_500()
    {
        await using var server = await StartAsync();
        var good = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(View("a.example", "u1", "/")));
        var bad = Encoding.UTF8.GetBytes("{\"id\":\"2\",\"type\":\"pageview\",\"source\":\"a").Concat(new byte[] { 0xFF, 0xFE }).Concat(Encoding.UTF8.GetBytes($"\",\"timestamp\":{Now()},\"data\":{{\"url\":\"/\",\"userId\":\"u2\"}}}}")).ToArray();

        var mixed = await PostBytesAsync(server, [.. "["u8.ToArray(), .. good, .. ","u8.ToArray(), .. bad, .. "]"u8.ToArray()]);
        mixed.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var result = await mixed.Content.ReadFromJsonAsync<JsonElement>();
        result.GetProperty("accepted").GetInt32().Should().Be(1);
        result.GetProperty("rejected")[0].GetProperty("index").GetInt32().Should().Be(1);
        result.GetProperty("rejected")[0].GetProperty("error").GetString().Should().Contain("not valid UTF-8");

        var alone = await PostBytesAsync(server, [.. "["u8.ToArray(), .. bad, .. "]"u8.ToArray()]);
        alone.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        alone.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await server.GetAdminJsonAsync("/api/dead-letters")).GetProperty("count").GetInt64().Should().Be(2, "each bad element is kept with its reason: nothing lost");
        (await server.PostEventsAsync(new[] { View("a.example", "u3", "/") })).StatusCode.Should().Be(HttpStatusCode.Accepted, "the server still serves");
    }

    [Fact]
    public async Task An_escaped_lone_surrogate_rejects_that_element_with_the_reason_not_a_500()
    {
        await using var server = await StartAsync();
        var body = $$$"""[{"id":"1","type":"pageview","source":"a\ud800","timestamp":{{{Now()}}},"data":{"url":"/","userId":"u"}}]""";

        var response = await server.Client.PostAsync("/api/events", new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("errors")[0].GetProperty("index").GetInt32().Should().Be(0);
        problem.GetProperty("errors")[0].GetProperty("error").GetString().Should().NotBeNullOrWhiteSpace();
        (await server.GetAdminJsonAsync("/api/dead-letters")).GetProperty("count").GetInt64().Should().Be(1);
        (await server.PostEventsAsync(new[] { View("a.example", "u3", "/") })).StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task Thirty_posts_of_100_bad_elements_of_40_KB_keep_only_a_4_KB_prefix_of_each()
    {
        // Was: each bad element kept whole; 30 such posts grew the process from 75 to 357 MB.
        await using var server = await StartAsync();
        var huge = new string('x', 40 * 1024);
        for (var post = 0; post < 30; post++)
        {
            var batch = new List<object> { View("a.example", "u" + post, "/") };
            batch.AddRange(Enumerable.Range(0, 100).Select(i => View("a.example", "u", huge)));
            var response = await server.PostEventsAsync(batch);
            response.StatusCode.Should().Be(HttpStatusCode.Accepted);
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("rejected").GetArrayLength().Should().Be(100);
        }

        var letters = await server.GetAdminJsonAsync("/api/dead-letters?limit=1000");
        letters.GetProperty("count").GetInt64().Should().Be(3_000, "every bad element is kept, with its reason");
        letters.GetProperty("entries").EnumerateArray().Should().HaveCount(1_000).And.OnlyContain(e =>
            Encoding.UTF8.GetByteCount(e.GetProperty("event").GetString()!) <= 4 * 1024
            && e.GetProperty("message").GetString()!.Contains("the first 4096 are kept", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    public async Task A_body_a_cross_site_page_can_post_without_a_preflight_gets_415_and_nothing_is_admitted(string contentType)
    {
        // Was: accepted, so any web page could post events into the dashboard from its visitors' browsers.
        await using var server = await StartAsync();
        var content = new StringContent(JsonSerializer.Serialize(new[] { View("a.example", "u", "/") }), Encoding.UTF8);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = content };
        request.Headers.Add("Origin", "https://attacker.example");

        var response = await server.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        server.Pipeline.GetMetrics().Accepted.Should().Be(0);
    }

    [Fact]
    public async Task A_cross_origin_form_post_cannot_trigger_replay_and_a_script_with_the_key_gets_no_CORS_permission()
    {
        await using var server = await StartAsync();
        (await server.Admin.PostAsJsonAsync("/api/fault", new { enabled = true })).EnsureSuccessStatusCode();
        (await server.PostEventsAsync(new[] { View("shop.example", "u", "/checkout") })).EnsureSuccessStatusCode();
        await server.DrainedAsync();
        (await server.Admin.PostAsJsonAsync("/api/fault", new { enabled = false })).EnsureSuccessStatusCode();

        // What a hidden form on another site submits: no custom header can be set, so no API key.
        using var form = new HttpRequestMessage(HttpMethod.Post, "/api/dead-letters/replay") { Content = new FormUrlEncodedContent([new("max", "100")]) };
        form.Headers.Add("Origin", "https://attacker.example");
        (await server.Client.SendAsync(form)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        server.Pipeline.GetMetrics().Replayed.Should().Be(0);
        (await server.GetAdminJsonAsync("/api/dead-letters")).GetProperty("count").GetInt64().Should().Be(1, "nothing was replayed");

        // A script on another origin that sends X-Api-Key must ask first (a preflight): the app grants no origin.
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/dead-letters/replay");
        preflight.Headers.Add("Origin", "https://attacker.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "x-api-key");
        var answer = await server.Client.SendAsync(preflight);
        answer.Headers.Contains("Access-Control-Allow-Origin").Should().BeFalse();
    }

    [Fact]
    public async Task A_batch_larger_than_the_backpressure_threshold_gets_413_not_a_429_it_could_never_pass()
    {
        // Was: 429 with Retry-After: 1 with nothing in flight, retried for ever by a client that follows the header.
        await using var server = await StartAsync("--capacity", "100");
        var batch = Enumerable.Range(0, 150).Select(i => View("a.example", "u" + i, "/")).ToList();

        var response = await server.PostEventsAsync(batch);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        response.Headers.RetryAfter.Should().BeNull();
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString().Should().Contain("at most 100");
        server.Pipeline.GetMetrics().Accepted.Should().Be(0, "refused whole");
        (await server.PostEventsAsync(batch.Take(50).ToList())).StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task A_client_past_its_rate_limit_gets_429_with_Retry_After_and_a_problem_body()
    {
        // A window of an hour: the fourth post falls in the same window whatever the machine's speed.
        await using var server = await StartAsync("--Dashboard:RateLimit:PermitLimit", "3", "--Dashboard:RateLimit:WindowSeconds", "3600");
        for (var i = 0; i < 3; i++)
        {
            (await server.PostEventsAsync(new[] { View("a.example", "u" + i, "/") })).StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        var limited = await server.PostEventsAsync(new[] { View("a.example", "u9", "/") });

        limited.StatusCode.Should().Be((HttpStatusCode)429);
        limited.Headers.RetryAfter!.Delta!.Value.Should().BeGreaterThan(TimeSpan.FromMinutes(1));
        limited.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await limited.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString().Should().Be("Too many requests from this address");
        server.Pipeline.GetMetrics().Accepted.Should().Be(3);
        (await server.GetJsonAsync("/api/metrics")).GetProperty("accepted").GetInt64().Should().Be(3, "the rest of the API is not limited");
    }

    [Fact]
    public async Task The_health_endpoint_answers_healthy_for_a_running_pipeline()
    {
        await using var server = await StartAsync();

        var response = await server.Client.GetAsync("/healthz");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Be("Healthy");
    }

    [Fact]
    public async Task Every_posted_element_is_admitted_dead_lettered_or_refused_and_every_admitted_event_is_delivered_filtered_dead_lettered_or_late()
    {
        await using var server = await StartAsync();
        using var counts = new IngestCounts(server);
        (await server.Admin.PostAsJsonAsync("/api/fault", new { enabled = true })).EnsureSuccessStatusCode();
        var now = Now();
        var posted = 0;
        async Task PostAsync(IReadOnlyList<object> batch)
        {
            posted += batch.Count;
            (await server.PostEventsAsync(batch)).StatusCode.Should().BeOneOf(HttpStatusCode.Accepted, HttpStatusCode.BadRequest);
        }

        await PostAsync([.. Enumerable.Range(0, 20).Select(i => View("a.example", "u" + i, i % 4 == 0 ? "/checkout" : "/", now))]); // 5 fail in "geo"
        await PostAsync([View("a.example", "x", "/", now), 42, View("a.example", "y", "/", now - 600_000)]); // good, bad, refused
        await PostAsync([View("a.example", "ahead", "/", now + 9_900), View("a.example", "late", "/", now - 321_000)]); // the second ends late
        await PostAsync([7, 8]); // no usable element: 400, both dead-lettered
        await server.DrainedAsync();

        var m = server.Pipeline.GetMetrics();
        counts.All.Should().Be(posted, "events posted = admitted + rejected (dead-lettered) + refused");
        (counts.Of("admitted"), counts.Of("dead_lettered"), counts.Of("refused")).Should().Be((23L, 3L, 1L));
        m.Accepted.Should().Be(counts.Of("admitted"));
        (m.DeadLettered, m.Late).Should().Be((5L, 2L));
        m.ShouldBeBalanced(); // admitted = delivered + filtered + dead-lettered + late (+ windowed copies)
        var stored = (await server.GetAdminJsonAsync("/api/dead-letters")).GetProperty("count").GetInt64();
        stored.Should().Be(5 + 2 + 3, "the geo failures, the late copies (no late output: they go to the store) and the bad elements; refused ones are not kept");
        m.ShouldAccountForTheStore(stored - counts.Of("dead_lettered"));
    }

    private static Task<HttpResponseMessage> PostBytesAsync(DashboardServer server, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        return server.Client.PostAsync("/api/events", content);
    }
}
