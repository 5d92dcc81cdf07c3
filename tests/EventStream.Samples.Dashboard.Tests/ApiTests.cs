using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using static EventStream.Samples.Dashboard.Tests.DashboardServer;

namespace EventStream.Samples.Dashboard.Tests;

/// <summary>The HTTP API of the dashboard over a real Kestrel server: the envelope, every status code, the accounting, the live stream.</summary>
public sealed class ApiTests
{
    [Fact]
    public async Task An_admitted_batch_gets_202_with_its_count_and_every_event_is_shown_dead_lettered_or_late()
    {
        await using var server = await StartAsync();
        var now = Now();
        var events = Enumerable.Range(0, 40).Select(i => View("a.example", "u" + (i % 7), "/p" + (i % 3), now - 1000 + i)).ToList();

        var response = await server.PostEventsAsync(events);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("accepted").GetInt32().Should().Be(40);
        body.GetProperty("rejected").GetArrayLength().Should().Be(0);

        // Inside the door's horizon but behind the watermark: an event 9.9 s in the future (the skew the door allows)
        // moves event time ahead of the clock, and an event 321 s old, admitted by the door (its newest window is still
        // within its lateness at the clock), reaches only windows past their lateness at that watermark: late, counted, not lost.
        var ahead = View("a.example", "future", "/", now + 9_900);
        var behind = View("a.example", "old", "/", now - 321_000);
        var late = await server.PostEventsAsync(new[] { ahead, behind });
        late.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await late.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").GetInt32().Should().Be(2, "the door refuses only what is past the horizon at the clock");
        await server.DrainedAsync();
        var m = server.Pipeline.GetMetrics();
        m.Accepted.Should().Be(42);
        m.DeadLettered.Should().Be(0);

        // Each event is windowed under its site and under its page (two copies): admitted = shown + dead-lettered + late.
        m.Late.Should().Be(2, "both copies of the old event reached only windows past their lateness");
        (m.Windowed + m.Late).Should().Be(2 * (m.Accepted - m.DeadLettered));
        m.ShouldBeBalanced();

        var snapshot = await server.GetJsonAsync("/api/metrics");
        snapshot.GetProperty("accepted").GetInt64().Should().Be(42);
        snapshot.GetProperty("late").GetInt64().Should().Be(2);
        snapshot.GetProperty("stages").EnumerateArray().Select(st => st.GetProperty("name").GetString()).Should().Contain(["geo", "keys", "last-5-minutes", "figures"]);
    }

    [Fact]
    public async Task An_event_older_than_the_windows_lateness_horizon_is_refused_for_its_element_counted_and_not_dead_lettered()
    {
        // Regression (issue 12): an event 600 s old was admitted and ended late; enough of them filled the dead letters.
        await using var server = await StartAsync();
        using var counts = new IngestCounts(server);
        var now = Now();

        var response = await server.PostEventsAsync(new[] { View("a.example", "u1", "/", now), View("a.example", "old", "/", now - 600_000) });

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("accepted").GetInt32().Should().Be(1);
        var rejected = body.GetProperty("rejected").EnumerateArray().Should().ContainSingle().Subject;
        rejected.GetProperty("index").GetInt32().Should().Be(1);
        rejected.GetProperty("error").GetString().Should().Contain("older than the window's horizon").And.Contain("could only be late");
        await server.DrainedAsync();
        server.Pipeline.GetMetrics().Late.Should().Be(0);
        (await server.GetAdminJsonAsync("/api/dead-letters")).GetProperty("count").GetInt64().Should().Be(0, "a refused element is answered, not kept");
        counts.Of("refused").Should().Be(1);
        counts.Of("admitted").Should().Be(1);
    }

    [Fact]
    public async Task The_built_in_traffic_generator_makes_the_figures_move_on_first_start_and_the_headline_counts_admitted_events()
    {
        await using var server = await StartAsync("--simulate", "400");
        JsonElement live = default;
        await TestSupport.Eventually(
            async () =>
            {
                using var stream = await server.Client.GetStreamAsync("/api/live");
                using var reader = new StreamReader(stream);
                live = await NextMessageAsync(reader);
                return live.GetProperty("sites").GetArrayLength() >= 4 && live.GetProperty("topPages").GetArrayLength() >= 10 && live.GetProperty("admittedPerSecond").GetDouble() > 0;
            },
            "simulated traffic shows up within seconds",
            timeoutMs: 15_000);

        live.GetProperty("usersOnline").GetInt64().Should().BePositive();
        live.TryGetProperty("eventsPerSecond", out _).Should().BeFalse("the figure says what it counts: admittedPerSecond, or finishedPerSecond for the pipeline's own throughput");
        live.GetProperty("finishedPerSecond").ValueKind.Should().Be(JsonValueKind.Number);
    }

    [Fact]
    public async Task Bad_elements_of_a_batch_are_dead_lettered_and_named_while_the_good_ones_are_admitted()
    {
        await using var server = await StartAsync();
        var now = Now();
        var body = $$$"""
            [{"id":"1","type":"pageview","source":"a.example","timestamp":{{{now}}},"data":{"url":"/","userId":"u1"}},
             {"id":"2","type":"pageview","source":42,"timestamp":{{{now}}},"data":{"url":"/","userId":"u2"}},
             "text",
             {"id":"4","type":"pageview","source":"a.example","timestamp":{{{now}}},"data":{"userId":"u3"}},
             {"id":"5","type":"pageview","source":"a.example","timestamp":"soon","data":{"url":"/x","userId":"u4"}}]
            """;
        var response = await server.Client.PostAsync("/api/events", new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        result.GetProperty("accepted").GetInt32().Should().Be(1);
        var rejected = result.GetProperty("rejected").EnumerateArray().Select(r => (r.GetProperty("index").GetInt32(), r.GetProperty("error").GetString()!)).ToList();
        rejected.Select(r => r.Item1).Should().Equal(1, 2, 3, 4);
        rejected[0].Item2.Should().Contain("source");
        rejected[2].Item2.Should().Be("\"data.url\" is missing");
        rejected[3].Item2.Should().Contain("timestamp");

        var letters = await server.GetAdminJsonAsync("/api/dead-letters");
        letters.GetProperty("count").GetInt64().Should().Be(4);
        letters.GetProperty("entries").EnumerateArray().Should().OnlyContain(i => i.GetProperty("stage").GetString() == "ingest");
    }

    [Theory]
    [InlineData("{not json", "The body is not a JSON array of events")]
    [InlineData("{\"source\":\"a\"}", "The body is not a JSON array of events")]
    [InlineData("[1, {\"id\":\"1\",\"type\":\"pageview\",\"source\":\"a\",\"timestamp\":1,\"data\":{}}]", "No usable event in the batch")]
    public async Task A_malformed_body_gets_400_with_problem_details_that_say_what_is_wrong(string body, string title)
    {
        await using var server = await StartAsync();
        var response = await server.Client.PostAsync("/api/events", new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("title").GetString().Should().Be(title);
        if (title.StartsWith("No usable", StringComparison.Ordinal))
        {
            problem.GetProperty("errors").GetArrayLength().Should().Be(2);
        }

        server.Pipeline.GetMetrics().Accepted.Should().Be(0);
    }

    [Fact]
    public async Task A_body_over_the_limit_gets_413_problem_details_and_nothing_is_admitted()
    {
        await using var server = await StartAsync("--max-body", "2048");
        var big = Enumerable.Range(0, 100).Select(i => View("a.example", "u" + i, "/page/" + i)).ToList();
        var response = await server.PostEventsAsync(big);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        server.Pipeline.GetMetrics().Accepted.Should().Be(0);
        (await server.PostEventsAsync(big.Take(5))).StatusCode.Should().Be(HttpStatusCode.Accepted, "a body under the limit is fine");
    }

    [Fact]
    public async Task A_batch_with_more_than_100_bad_elements_is_refused_whole_so_it_cannot_fill_the_dead_letters()
    {
        await using var server = await StartAsync();
        var batch = new List<object> { View("a.example", "u", "/") };
        batch.AddRange(Enumerable.Range(0, 101).Select(i => (object)i));

        var response = await server.PostEventsAsync(batch);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("title").GetString().Should().StartWith("101 bad elements: more than 100 in one batch");
        problem.GetProperty("errors").GetArrayLength().Should().Be(100);
        server.Pipeline.GetMetrics().Accepted.Should().Be(0);
        (await server.GetAdminJsonAsync("/api/dead-letters")).GetProperty("count").GetInt64().Should().Be(0);
    }

    [Fact]
    public async Task Sites_and_pages_are_told_apart_whatever_characters_they_hold_and_far_future_timestamps_are_rejected()
    {
        await using var server = await StartAsync();
        var now = Now();
        var response = await server.PostEventsAsync(new[]
        {
            View("a", "u1", "/x", now),
            View("a|b", "u2", "/y", now),
            View("a|b", "u3", "/y", now),
            View("a", "u4", "/z", now + 60_000),
        });

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var rejected = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("rejected");
        rejected.GetArrayLength().Should().Be(1);
        rejected[0].GetProperty("error").GetString().Should().Be($"\"timestamp\" {now + 60_000} is more than 10 seconds in the future");

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
    public async Task NDJSON_bodies_are_read_one_envelope_per_line()
    {
        await using var server = await StartAsync();
        var lines = string.Join('\n', Enumerable.Range(0, 5).Select(i => JsonSerializer.Serialize(View("nd.example", "u" + i, "/"))));
        var response = await server.Client.PostAsync("/api/events", new StringContent(lines, Encoding.UTF8, "application/x-ndjson"));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").GetInt32().Should().Be(5);
    }

    [Fact]
    public async Task A_full_dead_letter_store_gets_503_not_429_until_its_dead_letters_are_replayed()
    {
        // Regression (issue 11): DeadLetterStoreFullException was a BackpressureException, so the door answered
        // 429 with Retry-After: 1 — a request that cannot succeed by waiting, retried for ever.
        await using var server = await StartAsync("--dead-letter-capacity", "2");
        (await server.Admin.PostAsJsonAsync("/api/fault", new { enabled = true })).StatusCode.Should().Be(HttpStatusCode.NoContent);
        var now = Now();
        var failing = Enumerable.Range(0, 3).Select(i => View("shop.example", "u" + i, "/checkout", now + i)).ToList();
        (await server.PostEventsAsync(failing)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await server.DrainedAsync();

        var refused = await server.PostEventsAsync(new[] { View("shop.example", "u9", "/", now) });
        refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await refused.Content.ReadAsStringAsync()).Should().Contain("dead-letter store is full");

        (await server.Admin.PostAsJsonAsync("/api/fault", new { enabled = false })).EnsureSuccessStatusCode();
        (await (await server.Admin.PostAsync("/api/dead-letters/replay", null)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replayed").GetInt32().Should().Be(3);
        (await server.PostEventsAsync(new[] { View("shop.example", "u9", "/", now) })).StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task Events_that_fail_while_the_fault_is_on_are_dead_lettered_and_replayed_once_it_is_fixed()
    {
        await using var server = await StartAsync();
        (await server.Admin.PostAsJsonAsync("/api/fault", new { enabled = true })).StatusCode.Should().Be(HttpStatusCode.NoContent);
        var now = Now();
        var events = Enumerable.Range(0, 10).Select(i => View("shop.example", "u" + i, i % 2 == 0 ? "/checkout" : "/cart", now + i)).ToList();
        (await server.PostEventsAsync(events)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await server.DrainedAsync();

        var letters = await server.GetAdminJsonAsync("/api/dead-letters");
        letters.GetProperty("count").GetInt64().Should().Be(5);
        letters.GetProperty("entries").EnumerateArray().Should().OnlyContain(i => i.GetProperty("stage").GetString() == "geo" && i.GetProperty("exceptionType").GetString()!.Contains("TimeoutException", StringComparison.Ordinal));

        (await server.Admin.PostAsJsonAsync("/api/fault", new { enabled = false })).EnsureSuccessStatusCode();
        var replay = await (await server.Admin.PostAsync("/api/dead-letters/replay", null)).Content.ReadFromJsonAsync<JsonElement>();
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
        await using var server = await StartAsync();
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
        var now = Now() / 1000 * 1000;
        var baseline = Enumerable.Range(0, 120).Select(i => View("spiky.example", "u" + (i % 30), "/", now - 60_000 + (i * 500)));
        var burst = Enumerable.Range(0, 60).Select(i => View("spiky.example", "b" + i, "/sale", now + i));
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
        message.GetProperty("accepted").GetInt64().Should().Be(180);
    }

    internal static async Task<JsonElement> NextMessageAsync(StreamReader reader)
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
