using System.Text.Json;
using StackExchange.Redis;

namespace EventStream.Redis.Tests;

[Collection(RedisTests.Name)]
public sealed class RedisStreamProducerTests(RedisServerFixture redis)
{
    private sealed record Click(string Url, long Timestamp);

    [Fact]
    public async Task A_batch_becomes_one_entry_per_event_with_its_json_in_the_event_field()
    {
        var stream = "clicks-" + Guid.NewGuid().ToString("N");
        var producer = new RedisStreamProducer<Click>(redis.Connection, new RedisStreamOptions { Stream = stream });
        var events = Enumerable.Range(0, 1_000).Select(i => new Click($"/p{i}", 1_700_000_000_000 + i)).ToArray();

        var ids = await producer.PublishAsync(events);

        ids.Should().HaveCount(1_000).And.OnlyHaveUniqueItems();
        var db = redis.Connection.GetDatabase();
        (await db.StreamLengthAsync(stream)).Should().Be(1_000);
        var entries = await db.StreamRangeAsync(stream, count: 3);
        ((string)entries[0]["event"]!).Should().Be("""{"url":"/p0","timestamp":1700000000000}""", "events are written in the web convention (camelCase), as other clients write them");
        entries.Select(e => JsonSerializer.Deserialize<Click>((string)e["event"]!, JsonSerializerOptions.Web)).Should().Equal(events[0], events[1], events[2]);
        entries[0].Values.Should().ContainSingle("only the event field, so any client can produce the same shape");
    }

    [Fact]
    public async Task A_producer_that_starts_before_its_consumers_makes_the_group_they_will_read_from_the_first_entry()
    {
        var stream = "early-" + Guid.NewGuid().ToString("N");
        var producer = new RedisStreamProducer<Click>(redis.Connection, new RedisStreamOptions { Stream = stream, Group = "later", LagThreshold = 100 });

        await producer.PublishAsync([new Click("/", 1), new Click("/", 2)]);

        var group = (await redis.Connection.GetDatabase().StreamGroupInfoAsync(stream)).Should().ContainSingle().Which;
        group.Name.Should().Be("later");
        (await redis.Connection.GetDatabase().StreamReadGroupAsync(stream, "later", "c", ">", 10)).Should().HaveCount(2, "the group starts at the first entry");
    }

    [Fact]
    public async Task Once_the_group_lags_past_the_threshold_a_batch_is_refused_whole_until_the_group_catches_up()
    {
        var stream = "lag-" + Guid.NewGuid().ToString("N");
        var db = redis.Connection.GetDatabase();
        await db.StreamCreateConsumerGroupAsync(stream, "workers", "0-0", createStream: true);
        var producer = new RedisStreamProducer<Click>(redis.Connection, new RedisStreamOptions
        {
            Stream = stream,
            Group = "workers",
            LagThreshold = 50,
            LagCheckInterval = TimeSpan.Zero,
        });
        var batch = Enumerable.Range(0, 40).Select(i => new Click("/", i)).ToArray();
        await producer.PublishAsync(batch);

        var act = () => producer.PublishAsync(batch);

        var ex = (await act.Should().ThrowAsync<BackpressureException>()).Which;
        ex.Message.Should().Contain(stream).And.Contain("'workers'").And.Contain("50");
        ex.Pending.Should().Be(40);
        ex.RetryAfter.Should().BePositive();
        (await db.StreamLengthAsync(stream)).Should().Be(40, "nothing of the refused batch was published");

        var read = await db.StreamReadGroupAsync(stream, "workers", "w1", ">", count: 40);
        await db.StreamAcknowledgeAsync(stream, "workers", read.Select(e => e.Id).ToArray());
        (await producer.GetLagAsync()).Should().Be(0);
        await producer.PublishAsync(batch);
        (await db.StreamLengthAsync(stream)).Should().Be(80);
    }

    [Fact]
    public void A_producer_without_a_stream_is_refused_with_the_option_named()
    {
        var act = () => new RedisStreamProducer<Click>(redis.Connection, new RedisStreamOptions());

        act.Should().Throw<ArgumentException>().WithMessage("*RedisStreamOptions.Stream is required*");
    }
}
