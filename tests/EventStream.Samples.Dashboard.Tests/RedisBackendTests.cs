using EventStream.Redis;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace EventStream.Samples.Dashboard.Tests;

[CollectionDefinition(Name)]
public sealed class RedisDashboards : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "dashboard-redis";
}

/// <summary>
/// The dashboard with <c>--redis</c>, two instances on one real redis-server: one input stream, the pipeline run
/// partitioned between them, and on each the figures of all partitions, read from the committed results.
/// </summary>
/// <remarks>
/// Each test has a stream and a group of its own, so what earlier runs left in the server changes no count. The
/// instances are named (<c>--consumer</c>): the partitions' assignment is then the same in every run.
/// </remarks>
[Collection(RedisDashboards.Name)]
public sealed class RedisBackendTests(RedisServerFixture redis)
{
    /// <summary>Six sites, with 3 to 8 distinct users each, three events per user.</summary>
    private static readonly IReadOnlyList<(string Site, long Users)> Sites = [.. Enumerable.Range(0, 6).Select(i => ($"site{i}.example", (long)(i + 3)))];

    [Fact]
    public async Task Two_instances_split_the_partitions_and_each_shows_every_site_with_its_distinct_users()
    {
        var (stream, group) = Names();
        await using var a = await StartAsync(stream, group, "a");
        await using var b = await StartAsync(stream, group, "b");
        await PostSitesAsync(a, b);

        await PartitionsSplitAsync(stream, group, ["a", "b"]);
        await ShowsEverySiteAsync(a, "instance a");
        await ShowsEverySiteAsync(b, "instance b");
        var views = Sites.Select(s => (s.Site, 3 * s.Users)).OrderByDescending(p => p.Item2).ToList();
        await Eventually(
            async () => (await Live(a)).GetProperty("topPages").EnumerateArray().Select(p => (p.GetProperty("site").GetString()!, p.GetProperty("views").GetInt64())).SequenceEqual(views),
            "instance a shows each site's page with every view, counted once");
    }

    [Fact]
    public async Task When_an_instance_stops_the_other_takes_its_partitions_and_still_shows_every_site()
    {
        var (stream, group) = Names();
        await using var b = await StartAsync(stream, group, "b");
        await using var a = await StartAsync(stream, group, "a");
        await PostSitesAsync(a, b);
        await PartitionsSplitAsync(stream, group, ["a", "b"]);
        await ShowsEverySiteAsync(b, "instance b, before the stop");

        await a.DisposeAsync(); // a graceful stop: a final commit, the partitions handed over, nothing fired

        await PartitionsSplitAsync(stream, group, ["b"]);
        await ShowsEverySiteAsync(b, "instance b, alone");
    }

    [Fact]
    public async Task A_bad_element_is_dead_lettered_in_Redis_and_listed_by_every_instance()
    {
        var (stream, group) = Names();
        await using var a = await StartAsync(stream, group, "a");
        await using var b = await StartAsync(stream, group, "b");
        var now = DashboardServer.Now();
        var events = Enumerable.Range(0, 30).Select(i => DashboardServer.View("r.example", "u" + i, "/", now)).Append("not an event").ToList();

        var response = await a.PostEventsAsync(events);

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").GetInt32().Should().Be(30);
        (await redis.Connection.GetDatabase().StreamLengthAsync(stream)).Should().Be(30, "admitted events are entries of the one input stream");
        foreach (var server in new[] { a, b })
        {
            var letters = await server.GetAdminJsonAsync("/api/dead-letters");
            letters.GetProperty("count").GetInt64().Should().Be(1);
            var item = letters.GetProperty("entries").EnumerateArray().Should().ContainSingle().Subject;
            item.GetProperty("stage").GetString().Should().Be("ingest");
            item.GetProperty("message").GetString().Should().StartWith("element 30: ");
            item.GetProperty("event").GetString().Should().Be("\"not an event\"");
        }

        await Eventually(async () => (await Live(b)).GetProperty("sites").EnumerateArray().Any(s => s.GetProperty("usersOnline").GetInt64() == 30), "the 30 good events show on the other instance");
    }

    [Fact]
    public async Task The_demo_fault_is_shared_its_failures_are_dead_lettered_once_and_replay_brings_them_into_every_instances_figures()
    {
        var (stream, group) = Names();
        await using var a = await StartAsync(stream, group, "a");
        await using var b = await StartAsync(stream, group, "b");
        (await a.Admin.PostAsJsonAsync("/api/fault", new { enabled = true })).StatusCode.Should().Be(HttpStatusCode.NoContent);
        await Eventually(async () => (await Live(b)).GetProperty("fault").GetBoolean(), "the other instance sees the fault switched on");

        var now = DashboardServer.Now();
        var events = Enumerable.Range(0, 10).Select(i => DashboardServer.View("shop.example", "u" + i, i % 2 == 0 ? "/checkout" : "/cart", now + i)).ToList();
        (await b.PostEventsAsync(events)).StatusCode.Should().Be(HttpStatusCode.Accepted);

        JsonElement letters = default;
        await Eventually(async () => (letters = await a.GetAdminJsonAsync("/api/dead-letters")).GetProperty("entries").GetArrayLength() >= 5, "the checkout events are dead-lettered");
        letters.GetProperty("count").GetInt64().Should().Be(5);
        letters.GetProperty("entries").EnumerateArray().Should().HaveCount(5).And.OnlyContain(i =>
            i.GetProperty("stage").GetString() == "geo" && i.GetProperty("exceptionType").GetString()!.Contains("TimeoutException", StringComparison.Ordinal));
        await Eventually(async () => (await Live(a)).GetProperty("sites").EnumerateArray().Any(s => s.GetProperty("usersOnline").GetInt64() == 5), "the five cart events are windowed");

        (await b.Admin.PostAsJsonAsync("/api/fault", new { enabled = false })).EnsureSuccessStatusCode();
        var replay = await (await a.Admin.PostAsync("/api/dead-letters/replay", null)).Content.ReadFromJsonAsync<JsonElement>();
        replay.GetProperty("replayed").GetInt32().Should().Be(5);
        replay.GetProperty("remaining").GetInt64().Should().Be(0);

        await ShowsAsync(a, [("shop.example", 10L)], "instance a, after the replay");
        await ShowsAsync(b, [("shop.example", 10L)], "instance b, after the replay");
        await Eventually(async () => (await MetricsAsync(stream, group)).Windowed == 20, "all ten events, the five replayed included, are windowed under their site and their page");
        var m = await MetricsAsync(stream, group);
        (m.Windowed, m.DeadLettered, m.Late).Should().Be((20L, 5L, 0L), "each failure was recorded once, by its partition's owner, not by both instances");
    }

    [Fact]
    public async Task A_batch_that_would_push_the_streams_backlog_past_the_capacity_gets_429_with_Retry_After_and_one_that_could_never_fit_413()
    {
        var (stream, group) = Names();

        // Another computation on the stream that has committed nothing: the stream is never trimmed below it, so the
        // backlog the second post meets is the first post's 60 whenever the computation commits them (no race with a trim).
        await redis.Connection.GetDatabase().HashSetAsync($"eventstream:readers:{{{stream}}}", "a-reader-that-committed-nothing|test", "0-0");
        await using var server = await StartAsync(stream, group, "a", "--capacity", "100");
        var batch = Enumerable.Range(0, 150).Select(i => DashboardServer.View("a.example", "u" + i, "/")).ToList();

        (await server.PostEventsAsync(batch)).StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge, "150 events can never fit under a threshold of 100");
        (await server.PostEventsAsync(batch.Take(60).ToList())).StatusCode.Should().Be(HttpStatusCode.Accepted);
        var response = await server.PostEventsAsync(batch.Skip(60).Take(60).ToList());

        response.StatusCode.Should().Be((HttpStatusCode)429, "the first 60 are still in the stream's backlog");
        response.Headers.RetryAfter!.Delta!.Value.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1));
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString().Should().Contain("backpressure threshold of 100");
        (await redis.Connection.GetDatabase().StreamLengthAsync(stream)).Should().BeLessThanOrEqualTo(60, "the refused batches wrote nothing");
    }

    [Fact]
    public async Task With_Redis_down_posts_and_the_dead_letter_list_answer_503_with_Retry_After_at_once_and_recover_when_it_returns()
    {
        // Was: an empty 500 after 5-6 s (the connection queued every command until its timeout).
        await using var own = await RedisServer.StartAsync();
        var (stream, group) = Names();
        await using var server = await DashboardServer.StartAsync("--redis", own.Configuration, "--stream", stream, "--group", group, "--consumer", "a");
        (await server.PostEventsAsync(new[] { DashboardServer.View("a.example", "u", "/") })).StatusCode.Should().Be(HttpStatusCode.Accepted);

        await own.KillAsync();

        // The connection notices the closed socket within moments; until then a post may still be answered by it.
        HttpResponseMessage post = null!;
        await Eventually(async () => (post = await server.PostEventsAsync(new[] { DashboardServer.View("a.example", "u", "/") })).StatusCode == HttpStatusCode.ServiceUnavailable, "posts get 503 once Redis is gone");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        post = await server.PostEventsAsync(new[] { DashboardServer.View("a.example", "u2", "/") });
        var list = await server.Admin.GetAsync("/api/dead-letters");
        clock.Elapsed.Should().BeLessThan(DashboardApp.RedisTimeout, "both are answered at once, not after a command timeout");
        foreach (var response in new[] { post, list })
        {
            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            response.Headers.RetryAfter!.Delta!.Value.Should().BePositive();
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString().Should().NotBeNullOrWhiteSpace();
        }

        (await (await server.Client.GetAsync("/healthz")).Content.ReadAsStringAsync()).Should().NotBe("Healthy");

        await own.RestartAsync();
        await Eventually(async () => (await server.PostEventsAsync(new[] { DashboardServer.View("a.example", "u3", "/") })).StatusCode == HttpStatusCode.Accepted, "posts are admitted again once Redis is back");
    }

    [Fact]
    public async Task Each_instance_reads_the_committed_results_where_RedisPartitionedPipeline_reads_them()
    {
        // The live figures follow the partitions' results streams by key (the library reads them only from the start):
        // the keys must be the ones the library writes.
        var (stream, group) = Names();
        await using var server = await StartAsync(stream, group, "a");
        await PostSitesAsync(server, server);
        await ShowsEverySiteAsync(server, "the instance");
        var settings = server.App.Services.GetRequiredService<DashboardRedis>();
        await server.DisposeAsync(); // a stop fires nothing: the results streams stay as they are

        var db = redis.Connection.GetDatabase();
        var followed = (await Task.WhenAll(settings.ResultStreams.Select(k => db.StreamLengthAsync(k)))).Sum();
        var committed = await RedisPartitionedPipeline.ReadResultsAsync(redis.Connection, Options(stream, group)).CountAsync();
        followed.Should().BePositive().And.Be(committed);
    }

    private static (string Stream, string Group) Names()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        return ($"tests:{run}:events", $"tests-{run}");
    }

    private static PartitionedOptions Options(string stream, string group) =>
        new() { Stream = stream, Group = group, KeyPrefix = DashboardRedis.KeyPrefix };

    private Task<DashboardServer> StartAsync(string stream, string group, string consumer, params string[] args) =>
        DashboardServer.StartAsync(["--redis", redis.Configuration, "--stream", stream, "--group", group, "--consumer", consumer, .. args]);

    private Task<PartitionedMetrics> MetricsAsync(string stream, string group) => RedisPartitionedPipeline.ReadMetricsAsync(redis.Connection, Options(stream, group));

    /// <summary>Posts the sites' events, every other batch to each instance: each user three times, one batch per round.</summary>
    private static async Task PostSitesAsync(DashboardServer a, DashboardServer b)
    {
        var now = DashboardServer.Now();
        for (var round = 0; round < 3; round++)
        {
            var batch = Sites.SelectMany(s => Enumerable.Range(0, (int)s.Users).Select(u => DashboardServer.View(s.Site, "u" + u, "/", now + round))).ToList();
            (await (round % 2 == 0 ? a : b).PostEventsAsync(batch)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        }
    }

    /// <summary>Waits until every partition is leased by one of <paramref name="owners"/>, and each of them holds some.</summary>
    private async Task PartitionsSplitAsync(string stream, string group, string[] owners)
    {
        PartitionedMetrics? metrics = null;
        await Eventually(
            async () =>
            {
                metrics = await MetricsAsync(stream, group);
                return metrics.Partitions.All(p => p.LeaseLive && owners.Contains(p.Owner)) && owners.All(o => metrics.Partitions.Any(p => p.Owner == o));
            },
            $"the 16 partitions are split between {string.Join(" and ", owners)}");
        metrics!.Partitions.Should().HaveCount(16);
    }

    private static Task ShowsEverySiteAsync(DashboardServer server, string who) => ShowsAsync(server, Sites, who);

    /// <summary>Waits until the instance's live figures show exactly these sites with these distinct users.</summary>
    private static async Task ShowsAsync(DashboardServer server, IReadOnlyList<(string Site, long Users)> expected, string who)
    {
        IReadOnlyList<(string?, long)> shown = [];
        await Eventually(
            async () =>
            {
                shown = [.. (await Live(server)).GetProperty("sites").EnumerateArray().Select(s => (s.GetProperty("site").GetString(), s.GetProperty("usersOnline").GetInt64()))];
                return shown.SequenceEqual(expected.Select(e => ((string?)e.Site, e.Users)));
            },
            $"{who} shows every site with its users (last shown: {string.Join(", ", shown)})");
    }

    /// <summary>The instance's next live message (the page's SSE stream, /api/live).</summary>
    private static async Task<JsonElement> Live(DashboardServer server)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        using var stream = await server.Client.GetStreamAsync("/api/live", timeout.Token);
        using var reader = new StreamReader(stream);
        while (true)
        {
            var line = await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException("the live stream ended");
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return JsonDocument.Parse(line[6..]).RootElement.Clone();
            }
        }
    }

    private static Task Eventually(Func<Task<bool>> condition, string what) => TestSupport.Eventually(condition, what, timeoutMs: 30_000);
}
