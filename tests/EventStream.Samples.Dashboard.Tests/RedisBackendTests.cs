using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EventStream.Redis.DeadLetters;
using EventStream.Redis.Tests;
using StackExchange.Redis;

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
        await using var server = await DashboardServer.StartAsync("--redis", redis.Configuration, "--group", "tests");
        var now = DashboardServer.Now();
        var events = Enumerable.Range(0, 30).Select(i => (object)new { site = "r.example", user = "u" + i, url = "/", timestamp = now }).Append("not an event").ToList();

        var response = await server.PostEventsAsync(events);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").GetInt32().Should().Be(30);
        (await redis.Connection.GetDatabase().StreamLengthAsync("dashboard:events")).Should().BeGreaterThanOrEqualTo(30, "admitted events are stream entries");

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (server.Pipeline.GetMetrics().Accepted < 30)
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "the pipeline reads the stream");
            await Task.Delay(50);
        }

        var store = new RedisDeadLetterStore(redis.Connection, new RedisDeadLetterStoreOptions { KeyPrefix = "dashboard:tests" });
        (await store.CountAsync("dashboard")).Should().Be(1, "the bad element is dead-lettered in Redis, visible to any process");
        (await store.ListAsync("dashboard", 10))[0].Message.Should().Be("element 30: expected a JSON object, got a string");
        var group = (await redis.Connection.GetDatabase().StreamGroupInfoAsync("dashboard:events")).Should().ContainSingle(g => g.Name == "tests", "the instance reads through the group --group names").Which;
        group.Lag.Should().Be(0, "the producer's backpressure watches this group's lag");
    }
}
