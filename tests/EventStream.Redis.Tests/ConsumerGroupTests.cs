using EventStream.Redis.Streams;
using StackExchange.Redis;

namespace EventStream.Redis.Tests;

/// <summary>The consumer-group steps every Redis consumer shares, against a real redis-server.</summary>
[Collection(RedisTests.Name)]
public sealed class ConsumerGroupTests(RedisServerFixture redis)
{
    [Fact]
    public async Task A_claim_dead_letters_an_entry_it_takes_past_its_delivery_limit_instead_of_handing_it_on()
    {
        // The poison check and the claim are two commands: an entry delivered MaxDeliveries times can pass its idle
        // time between them. Here the claim meets such an entry directly (no poison check first), which is what that
        // race leaves it with.
        var stream = "cg-" + Guid.NewGuid().ToString("N")[..8];
        var db = redis.Connection.GetDatabase();
        await db.StreamCreateConsumerGroupAsync(stream, "g", "0", createStream: true);
        var poison = await db.StreamAddAsync(stream, "event", "{}");
        var healthy = await db.StreamAddAsync(stream, "event", "{}");
        await db.StreamReadGroupAsync(stream, "g", "dead", ">", 10);
        await db.StreamClaimAsync(stream, "g", "dead", 0, [poison]);
        await db.StreamClaimAsync(stream, "g", "dead", 0, [poison]); // the poison entry has been delivered 3 times, the healthy one once
        var ns = RedisKeys.Namespace("t" + Guid.NewGuid().ToString("N")[..6], stream, "g");
        var group = new ConsumerGroup(db, stream, "g", ns, "source", TimeProvider.System);

        var (entries, deadLettered) = await group.ClaimAsync("live", TimeSpan.Zero, 10, maxDeliveries: 3);

        entries.Select(e => e.Id).Should().Equal(healthy);
        deadLettered.Should().Be(1);
        var pending = await db.StreamPendingMessagesAsync(stream, "g", 10, RedisValue.Null);
        pending.Select(p => p.MessageId).Should().Equal([healthy], "the poison entry left the group when it was dead-lettered");
        var letters = await new RedisDeadLetters(redis.Connection, stream, ns).ListAsync();
        letters.Should().ContainSingle().Which.SourceId.Should().Be(poison.ToString());
        letters[0].Attempts.Should().Be(3);
        letters[0].Error.Should().Contain("delivered 3 times");
    }
}
