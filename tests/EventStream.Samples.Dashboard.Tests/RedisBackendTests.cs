using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EventStream.Redis.DeadLetters;

namespace EventStream.Samples.Dashboard.Tests;

[CollectionDefinition(Name)]
public sealed class DashboardRedis : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "dashboard-redis";
}

/// <summary>The dashboard with <c>--redis</c>: events go through a Redis Stream, dead letters live in Redis.</summary>
[Collection(DashboardRedis.Name)]
public sealed class RedisBackendTests(RedisServerFixture redis)
{
    [Fact]
    public async Task With_redis_posted_events_travel_through_the_stream_and_bad_ones_are_dead_lettered_in_Redis()
    {
        // The stream is the app's own (dashboard:events); the group, and with it the dead letters' key prefix, are this
        // test's own, so the exact counts below are this run's and not what earlier runs left in the server.
        var group = "tests-" + Guid.NewGuid().ToString("N")[..8];
        var db = redis.Connection.GetDatabase();
        var before = await db.StreamLengthAsync("dashboard:events");
        await using var server = await DashboardServer.StartAsync("--redis", redis.Configuration, "--group", group);
        var now = DashboardServer.Now();
        var events = Enumerable.Range(0, 30).Select(i => (object)new { site = "r.example", user = "u" + i, url = "/", timestamp = now }).Append("not an event").ToList();

        var response = await server.PostEventsAsync(events);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").GetInt32().Should().Be(30);
        (await db.StreamLengthAsync("dashboard:events")).Should().Be(before + 30, "admitted events are stream entries");

        await TestSupport.Eventually(() => server.Pipeline.GetMetrics().Accepted >= 30, "the pipeline reads the stream", timeoutMs: 15_000);

        var store = new RedisDeadLetterStore(redis.Connection, new RedisDeadLetterStoreOptions { KeyPrefix = "dashboard:" + group });
        (await store.CountAsync("dashboard")).Should().Be(1, "the bad element is dead-lettered in Redis, visible to any process");
        (await store.ListAsync("dashboard", 10))[0].Message.Should().Be("element 30: expected a JSON object, got a string");
        var info = (await db.StreamGroupInfoAsync("dashboard:events")).Should().ContainSingle(g => g.Name == group, "the instance reads through the group --group names").Which;
        info.Lag.Should().Be(0, "the producer's backpressure watches this group's lag");
    }
}
