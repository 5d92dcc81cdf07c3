using EventStream.Redis;
using System.Collections.Concurrent;
using System.Text.Json;
using EventStream.Tests.DeadLetters;
using StackExchange.Redis;

namespace EventStream.Redis.Tests;

[Collection(RedisTests.Name)]
public sealed class RedisDeadLetterStoreTests(RedisServerFixture redis) : DeadLetterStoreConformanceTests
{
    protected override IDeadLetterStore CreateStore() =>
        new RedisDeadLetterStore(redis.Connection, new RedisDeadLetterStoreOptions { KeyPrefix = "test-" + Guid.NewGuid().ToString("N") });

    [Fact]
    public async Task Entries_survive_the_process_another_connection_sees_them_with_their_typed_events()
    {
        // A server of this test's own, SIGKILLed and started again on its data directory: appendfsync always, so every
        // write it acknowledged is in the AOF it replays.
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { AppendFsync = "always", DirectoryPrefix = "eventstream-dlq-restart-" });
        var prefix = "shared-" + Guid.NewGuid().ToString("N");
        var payload = new PipelineEvent("e-1", "page_view", "site-a", 1_700_000_000_000, JsonDocument.Parse("""{"url":"/x"}""").RootElement);
        await using (var writer = await ConnectionMultiplexer.ConnectAsync(server.Configuration))
        {
            await new RedisDeadLetterStore(writer, new() { KeyPrefix = prefix }).AddAsync(Entry("1", "clicks", payload));
        }

        var before = server.Pid;
        await server.KillAsync();
        await server.RestartAsync();
        server.Pid.Should().NotBe(before, "a new redis-server process");

        await using var other = await ConnectionMultiplexer.ConnectAsync(server.Configuration);
        var entry = (await new RedisDeadLetterStore(other, new() { KeyPrefix = prefix }).ListAsync()).Should().ContainSingle().Subject;

        var read = entry.Event.Should().BeOfType<PipelineEvent>().Subject;
        read.Id.Should().Be("e-1");
        read.GetString("url").Should().Be("/x");
        entry.Attempts.Should().Be(3);
        entry.FirstFailure.Should().Be(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public async Task An_event_of_a_type_this_process_does_not_know_is_read_as_json()
    {
        var prefix = "unknown-" + Guid.NewGuid().ToString("N");
        var store = new RedisDeadLetterStore(redis.Connection, new() { KeyPrefix = prefix, ResolveType = _ => null });
        await store.AddAsync(Entry("1", "p", new { Url = "/y", Count = 2 }));

        var entry = (await store.ListAsync()).Single();

        var json = entry.Event.Should().BeOfType<JsonElement>().Subject;
        json.GetProperty("url").GetString().Should().Be("/y", "events are stored as JSON in the web convention (camelCase)");
    }

    [Fact]
    public async Task Keys_share_one_hash_tag_so_the_layout_works_on_a_cluster()
    {
        var prefix = "tagged-" + Guid.NewGuid().ToString("N");
        await new RedisDeadLetterStore(redis.Connection, new() { KeyPrefix = prefix }).AddAsync(Entry("1", "p"));

        var keys = redis.Connection.GetServers()[0].Keys(pattern: "*" + prefix + "*").Select(k => k.ToString()).ToList();

        keys.Should().NotBeEmpty().And.OnlyContain(k => k.StartsWith("{" + prefix + "}:dlq:", StringComparison.Ordinal));
    }
}
