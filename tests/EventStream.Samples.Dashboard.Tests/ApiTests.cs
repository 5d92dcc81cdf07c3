using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace EventStream.Samples.Dashboard.Tests;

/// <summary>The HTTP API of the dashboard over a real Kestrel server: every status code, the accounting, the live stream.</summary>
public sealed class ApiTests
{
    [Fact]
    public async Task An_admitted_batch_gets_202_with_its_count_and_every_event_is_shown_dead_lettered_or_late()
    {
        await using var server = await DashboardServer.StartAsync();
        var now = DashboardServer.Now();
        var events = Enumerable.Range(0, 40).Select(i => new { site = "a.example", user = "u" + (i % 7), url = "/p" + (i % 3), timestamp = now - 1000 + i }).ToList();

        var response = await server.PostEventsAsync(events);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("accepted").GetInt32().Should().Be(40);
        body.GetProperty("rejected").GetArrayLength().Should().Be(0);

        // An event far behind the watermark: late, counted, not lost.
        (await server.PostEventsAsync(new[] { new { site = "a.example", user = "old", url = "/", timestamp = now - 600_000 } })).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await server.DrainedAsync();
        var m = server.Pipeline.GetMetrics();
        m.Accepted.Should().Be(41);
        m.DeadLettered.Should().Be(0);

        // Each event is windowed under its site and under its page (two copies): admitted = shown + dead-lettered + late.
        m.Late.Should().Be(2, "both copies of the old event reached only windows past their lateness");
        (m.Windowed + m.Late).Should().Be(2 * (m.Accepted - m.DeadLettered));
        m.ShouldBeBalanced();

        var snapshot = await server.GetJsonAsync("/api/metrics");
        snapshot.GetProperty("accepted").GetInt64().Should().Be(41);
        snapshot.GetProperty("late").GetInt64().Should().Be(2);
        snapshot.GetProperty("stages").EnumerateArray().Select(st => st.GetProperty("name").GetString()).Should().Contain(["geo", "keys", "last-5-minutes", "figures"]);
    }

    [Fact]
    public async Task The_built_in_traffic_generator_makes_the_figures_move_on_first_start()
    {
        await using var server = await DashboardServer.StartAsync("--simulate", "400");
        JsonElement live = default;
        await TestSupport.Eventually(
            async () =>
            {
                using var stream = await server.Client.GetStreamAsync("/api/live");
                using var reader = new StreamReader(stream);
                live = await NextMessageAsync(reader);
                return live.GetProperty("sites").GetArrayLength() >= 4 && live.GetProperty("topPages").GetArrayLength() >= 10;
            },
            "simulated traffic shows up within seconds",
            timeoutMs: 15_000);

        live.GetProperty("usersOnline").GetInt64().Should().BePositive();
        live.GetProperty("eventsPerSecond").GetDouble().Should().BePositive();
    }

    [Fact]
    public async Task Bad_elements_of_a_batch_are_dead_lettered_and_named_while_the_good_ones_are_admitted()
    {
        await using var server = await DashboardServer.StartAsync();
        var body = """[{"site":"a.example","user":"u1","url":"/"},{"site":42,"user":"u2","url":"/"},"text",{"site":"a.example","user":"u3"},{"site":"a.example","user":"u4","url":"/x","timestamp":"soon"}]""";
        var response = await server.Client.PostAsync("/api/events", new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        result.GetProperty("accepted").GetInt32().Should().Be(1);
        var rejected = result.GetProperty("rejected").EnumerateArray().Select(r => (r.GetProperty("index").GetInt32(), r.GetProperty("error").GetString())).ToList();
        rejected.Should().Equal(
            (1, "\"site\" must be a string, got a number"),
            (2, "expected a JSON object, got a string"),
            (3, "\"url\" is missing"),
            (4, "\"timestamp\" must be an integer (epoch milliseconds), got a string"));

        var letters = await server.GetJsonAsync("/api/dead-letters");
        letters.GetProperty("count").GetInt64().Should().Be(4);
        letters.GetProperty("items").EnumerateArray().Should().OnlyContain(i => i.GetProperty("stage").GetString() == "http");
    }

    [Theory]
    [InlineData("{not json", "The body is not valid JSON")]
    [InlineData("{\"site\":\"a\"}", "Expected a JSON array of events")]
    [InlineData("[1, {\"site\":\"a\",\"user\":\"u\"}]", "No usable event in the batch")]
    public async Task A_malformed_body_gets_400_with_problem_details_that_say_what_is_wrong(string body, string title)
    {
        await using var server = await DashboardServer.StartAsync();
        var response = await server.Client.PostAsync("/api/events", new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("title").GetString().Should().Be(title);
        if (title.StartsWith("No usable", StringComparison.Ordinal))
        {
            problem.GetProperty("detail").GetString().Should().Be("element 0: expected a JSON object, got a number; element 1: \"url\" is missing");
            problem.GetProperty("errors").GetArrayLength().Should().Be(2);
        }

        server.Pipeline.GetMetrics().Accepted.Should().Be(0);
    }

    [Fact]
    public async Task A_body_over_the_limit_gets_413()
    {
        await using var server = await DashboardServer.StartAsync("--max-body", "2048");
        var big = Enumerable.Range(0, 100).Select(i => new { site = "a.example", user = "u" + i, url = "/page/" + i }).ToList();
        var response = await server.PostEventsAsync(big);
        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        (await server.PostEventsAsync(big.Take(5))).StatusCode.Should().Be(HttpStatusCode.Accepted, "a body under the limit is fine");
    }

    [Fact]
    public async Task A_body_over_the_limit_with_a_Content_Length_gets_413_problem_details_and_nothing_is_admitted()
    {
        await using var server = await DashboardServer.StartAsync("--max-body", "2048");
        var body = new ByteArrayContent(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(Enumerable.Range(0, 100).Select(i => new { site = "a.example", user = "u" + i, url = "/page/" + i }))));
        body.Headers.ContentType = new("application/json");
        body.Headers.ContentLength.Should().BeGreaterThan(2048);

        var response = await server.Client.PostAsync("/api/events", body);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString().Should().EndWith("the limit is 2048.");
        server.Pipeline.GetMetrics().Accepted.Should().Be(0);
    }

    [Fact]
    public async Task A_batch_with_more_than_100_bad_elements_is_refused_whole_so_it_cannot_fill_the_dead_letters()
    {
        await using var server = await DashboardServer.StartAsync();
        var batch = new List<object> { new { site = "a.example", user = "u", url = "/" } };
        batch.AddRange(Enumerable.Range(0, 101).Select(i => (object)i));

        var response = await server.PostEventsAsync(batch);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("title").GetString().Should().Be("101 bad elements: more than 100 in one batch, so none is admitted");
        problem.GetProperty("errors").GetArrayLength().Should().Be(100);
        server.Pipeline.GetMetrics().Accepted.Should().Be(0);
        (await server.GetJsonAsync("/api/dead-letters")).GetProperty("count").GetInt64().Should().Be(0);
    }

    [Fact]
    public async Task Sites_and_pages_are_told_apart_whatever_characters_they_hold_and_far_future_timestamps_are_rejected()
    {
        await using var server = await DashboardServer.StartAsync();
        var now = DashboardServer.Now();
        var response = await server.PostEventsAsync(new object[]
        {
            new { site = "a", user = "u1", url = "/x", timestamp = now },
            new { site = "a|b", user = "u2", url = "/y", timestamp = now },
            new { site = "a|b", user = "u3", url = "/y", timestamp = now },
            new { site = "a", user = "u4", url = "/z", timestamp = now + 60_000 },
        });

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var rejected = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("rejected");
        rejected.GetArrayLength().Should().Be(1);
        rejected[0].GetProperty("error").GetString().Should().Be($"\"timestamp\" {now + 60_000} is out of range (0 to 10 seconds from now)");

        using var stream = await server.Client.GetStreamAsync("/api/live");
        using var reader = new StreamReader(stream);
        var started = DateTime.UtcNow;
        JsonElement message;
        do
        {
            message = await NextMessageAsync(reader);
            (DateTime.UtcNow - started).Should().BeLessThan(TimeSpan.FromSeconds(10));
        }
        while (message.GetProperty("sites").GetArrayLength() < 2);

        message.GetProperty("sites").EnumerateArray().Select(s => (s.GetProperty("site").GetString(), s.GetProperty("usersOnline").GetInt64()))
            .Should().Equal(("a", 1L), ("a|b", 2L));
        message.GetProperty("topPages").EnumerateArray().Select(p => (p.GetProperty("site").GetString(), p.GetProperty("url").GetString(), p.GetProperty("views").GetInt64()))
            .Should().Equal(("a|b", "/y", 2L), ("a", "/x", 1L));
    }

    [Fact]
    public async Task A_batch_that_would_overfill_the_pipeline_gets_429_with_Retry_After()
    {
        await using var server = await DashboardServer.StartAsync("--capacity", "100");
        var batch = Enumerable.Range(0, 150).Select(i => new { site = "a.example", user = "u" + i, url = "/" }).ToList();
        var response = await server.PostEventsAsync(batch);

        response.StatusCode.Should().Be((HttpStatusCode)429);
        response.Headers.RetryAfter!.Delta!.Value.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("detail").GetString().Should().Contain("backpressure threshold of 100");
        server.Pipeline.GetMetrics().Accepted.Should().Be(0, "refused whole");
        (await server.PostEventsAsync(batch.Take(50))).StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task A_full_dead_letter_store_gets_503_not_429_until_its_dead_letters_are_replayed()
    {
        // Regression (issue 11): DeadLetterStoreFullException was a BackpressureException, so the door answered
        // 429 with Retry-After: 1 — a request that cannot succeed by waiting, retried for ever.
        await using var server = await DashboardServer.StartAsync("--dead-letter-capacity", "2");
        (await server.Client.PostAsJsonAsync("/api/fault", new { enabled = true })).StatusCode.Should().Be(HttpStatusCode.NoContent);
        var now = DashboardServer.Now();
        var failing = Enumerable.Range(0, 3).Select(i => new { site = "shop.example", user = "u" + i, url = "/checkout", timestamp = now + i }).ToList();
        (await server.PostEventsAsync(failing)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await server.DrainedAsync();

        var refused = await server.PostEventsAsync(new[] { new { site = "shop.example", user = "u9", url = "/", timestamp = now } });
        refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        refused.Headers.RetryAfter.Should().BeNull("waiting does not help");
        (await refused.Content.ReadAsStringAsync()).Should().Contain("dead-letter store is full");

        (await server.Client.PostAsJsonAsync("/api/fault", new { enabled = false })).EnsureSuccessStatusCode();
        (await (await server.Client.PostAsync("/api/dead-letters/replay", null)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replayed").GetInt32().Should().Be(3);
        (await server.PostEventsAsync(new[] { new { site = "shop.example", user = "u9", url = "/", timestamp = now } })).StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task Events_that_fail_while_the_fault_is_on_are_dead_lettered_and_replayed_once_it_is_fixed()
    {
        await using var server = await DashboardServer.StartAsync();
        (await server.Client.PostAsJsonAsync("/api/fault", new { enabled = true })).StatusCode.Should().Be(HttpStatusCode.NoContent);
        var now = DashboardServer.Now();
        var events = Enumerable.Range(0, 10).Select(i => new { site = "shop.example", user = "u" + i, url = i % 2 == 0 ? "/checkout" : "/cart", timestamp = now + i }).ToList();
        (await server.PostEventsAsync(events)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await server.DrainedAsync();

        var letters = await server.GetJsonAsync("/api/dead-letters");
        letters.GetProperty("count").GetInt64().Should().Be(5);
        letters.GetProperty("items").EnumerateArray().Should().OnlyContain(i => i.GetProperty("stage").GetString() == "geo" && i.GetProperty("error").GetString()!.Contains("TimeoutException", StringComparison.Ordinal));

        (await server.Client.PostAsJsonAsync("/api/fault", new { enabled = false })).EnsureSuccessStatusCode();
        var replay = await (await server.Client.PostAsync("/api/dead-letters/replay", null)).Content.ReadFromJsonAsync<JsonElement>();
        replay.GetProperty("replayed").GetInt32().Should().Be(5);
        replay.GetProperty("remaining").GetInt64().Should().Be(0);
        await server.DrainedAsync();
        var m = server.Pipeline.GetMetrics();
        m.Replayed.Should().Be(5);
        (m.Windowed + m.Late).Should().Be(20, "all ten events, the five replayed included, are windowed under their site and their page");
    }

    [Fact]
    public async Task The_live_stream_sends_the_figures_at_least_once_a_second_and_shows_posted_users_and_a_spike()
    {
        await using var server = await DashboardServer.StartAsync();
        using var stream = await server.Client.GetStreamAsync("/api/live");
        using var reader = new StreamReader(stream);
        var first = await NextMessageAsync(reader);
        first.GetProperty("usersOnline").GetInt64().Should().Be(0);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 4; i++)
        {
            await NextMessageAsync(reader);
        }

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(4), "four more messages come in less than four seconds: at least one a second (four a second when the machine is idle)");

        // A minute of quiet traffic (2 events/s, backdated), then a burst in the newest second.
        var now = DashboardServer.Now() / 1000 * 1000;
        var baseline = Enumerable.Range(0, 120).Select(i => new { site = "spiky.example", user = "u" + (i % 30), url = "/", timestamp = now - 60_000 + (i * 500) });
        var burst = Enumerable.Range(0, 60).Select(i => new { site = "spiky.example", user = "b" + i, url = "/sale", timestamp = now + i });
        (await server.PostEventsAsync(baseline.Concat(burst).ToList())).StatusCode.Should().Be(HttpStatusCode.Accepted);

        var started = DateTime.UtcNow;
        JsonElement message;
        do
        {
            message = await NextMessageAsync(reader);
            (DateTime.UtcNow - started).Should().BeLessThan(TimeSpan.FromSeconds(10));
        }
        while (message.GetProperty("usersOnline").GetInt64() < 90 || message.GetProperty("alerts").GetArrayLength() == 0);

        message.GetProperty("usersOnline").GetInt64().Should().Be(90, "30 baseline users and 60 burst users, distinct over 5 minutes");
        var alert = message.GetProperty("alerts")[0];
        alert.GetProperty("site").GetString().Should().Be("spiky.example");
        alert.GetProperty("rate").GetInt64().Should().Be(60);
        message.GetProperty("topPages")[0].GetProperty("url").GetString().Should().Be("/", "120 views against 60");
    }

    [Fact]
    public async Task With_an_operator_token_the_dead_letters_replay_and_the_fault_switch_answer_only_callers_that_send_it()
    {
        await using var server = await DashboardServer.StartAsync("--operator-token", "s3cret");

        (await server.Client.GetAsync("/api/dead-letters")).StatusCode.Should().Be(HttpStatusCode.Unauthorized, "a loopback caller without the token is refused once a token is set");
        (await server.Client.PostAsync("/api/dead-letters/replay", null)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await server.Client.PostAsJsonAsync("/api/fault", new { enabled = true })).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await Send(server, HttpMethod.Post, "/api/fault", "wrong", new { enabled = true })).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        server.App.Services.GetRequiredService<FaultSwitch>().Enabled.Should().BeFalse("no refused request switched the fault");

        (await Send(server, HttpMethod.Post, "/api/fault", "s3cret", new { enabled = true })).StatusCode.Should().Be(HttpStatusCode.NoContent);
        server.App.Services.GetRequiredService<FaultSwitch>().Enabled.Should().BeTrue();
        (await Send(server, HttpMethod.Get, "/api/dead-letters", "s3cret")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await Send(server, HttpMethod.Post, "/api/dead-letters/replay", "s3cret")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await server.PostEventsAsync(new[] { new { site = "a.example", user = "u", url = "/" } })).StatusCode.Should().Be(HttpStatusCode.Accepted, "posting events stays open");
        (await server.Client.GetAsync("/api/metrics")).StatusCode.Should().Be(HttpStatusCode.OK, "so do the metrics");
    }

    [Fact]
    public async Task Without_a_token_the_dead_letters_replay_and_the_fault_switch_refuse_callers_from_another_machine()
    {
        // The server listens on this machine's network address, so the test's requests come from it, not from loopback.
        var address = NetworkAddress() ?? throw new InvalidOperationException("This machine has no non-loopback IPv4 address to call the dashboard from another address.");
        await using var server = await DashboardServer.StartAsync("--urls", $"http://{address}:0");
        server.Address.Host.Should().Be(address.ToString());

        (await server.Client.GetAsync("/api/dead-letters")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await server.Client.PostAsync("/api/dead-letters/replay", null)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await server.Client.PostAsJsonAsync("/api/fault", new { enabled = true })).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        server.App.Services.GetRequiredService<FaultSwitch>().Enabled.Should().BeFalse();
        (await server.PostEventsAsync(new[] { new { site = "a.example", user = "u", url = "/" } })).StatusCode.Should().Be(HttpStatusCode.Accepted, "websites post from anywhere");
        (await server.Client.GetAsync("/api/metrics")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private static async Task<HttpResponseMessage> Send(DashboardServer server, HttpMethod method, string path, string token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await server.Client.SendAsync(request);
    }

    private static IPAddress? NetworkAddress() => NetworkInterface.GetAllNetworkInterfaces()
        .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
        .SelectMany(n => n.GetIPProperties().UnicastAddresses)
        .Select(a => a.Address)
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    private static async Task<JsonElement> NextMessageAsync(StreamReader reader)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        while (true)
        {
            var line = await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException("the live stream ended");
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return JsonDocument.Parse(line[6..]).RootElement.Clone();
            }
        }
    }
}
