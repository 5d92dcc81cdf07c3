using EventStream.Redis.Partitions;
using StackExchange.Redis;

namespace EventStream.Redis.Tests.Partitions;

/// <summary>The results reader's cursor, and reads after it, on a real redis-server.</summary>
[Collection(RedisTests.Name)]
public sealed class RedisResultsReaderTests(RedisServerFixture redis)
{
    private readonly string _stream = "results-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..6];

    [Fact]
    public void A_cursor_survives_its_text_and_stays_compact()
    {
        string?[] ids = ["1800000000000-0", null, "1800003600000-12", "1800000000001-0"];
        var text = ResultsCursor.At(ids).ToString();

        var back = ResultsCursor.Parse(text, 4);

        Enumerable.Range(0, 4).Select(p => back[p]).Should().Equal("1800000000000-0", "0-0", "1800003600000-12", "1800000000001-0");
        back.ToString().Should().Be(text);
        text.Length.Should().BeLessThan(30, "ids of one hour are written as small offsets from one base: {0}", text);
        ResultsCursor.Start(16).ToString().Should().Be("r0................");
    }

    [Theory]
    [InlineData("", "does not start with 'r'")]
    [InlineData("r0.1.2", "it has 2 partitions, the computation has 4")]
    [InlineData("r0.1.2.3.A", "'A' is not a base-36 number")]
    [InlineData("r0.1.2.3.-", "'' is not a base-36 number")]
    [InlineData("rzzzzzzzzzzzzzz.1.2.3.4", "is not a base-36 number")]
    [InlineData("rzzzzzzzzzzzzz.1.2.3.4", "is out of range")]
    [InlineData("r3w5e11264sgsf.1.2.3.4", "out of range")]
    public void A_text_that_is_not_a_cursor_is_refused_saying_why(string text, string why)
    {
        var act = () => ResultsCursor.Parse(text, 4);

        act.Should().Throw<FormatException>().WithMessage($"*is not a cursor of this computation's results: *{why}*");
    }

    [Fact]
    public async Task Each_result_comes_with_the_cursor_after_it_and_reading_after_a_cursor_gives_exactly_what_follows()
    {
        var options = new PartitionedOptions { Stream = _stream, Group = "g", KeyPrefix = _prefix, Partitions = 3 };
        var keys = new PartitionKeys(_prefix, _stream, "g", 3);
        var db = redis.Connection.GetDatabase();
        for (var i = 0; i < 9; i++)
        {
            await db.StreamAddAsync(keys.Results(i % 3), "result", $"{{\"n\":{i}}}");
        }

        var reader = new RedisResultsReader(redis.Connection, options);
        var all = await reader.ReadAsync(reader.StartCursor);
        all.Select(e => (e.Partition, e.Result)).Should().Equal(
            (0, "{\"n\":0}"), (0, "{\"n\":3}"), (0, "{\"n\":6}"), (1, "{\"n\":1}"), (1, "{\"n\":4}"), (1, "{\"n\":7}"), (2, "{\"n\":2}"), (2, "{\"n\":5}"), (2, "{\"n\":8}"));
        (await reader.GetEndCursorAsync()).Should().Be(all[^1].Cursor, "after the last one read, the cursor is at every partition's end");

        // After the fifth result (partition 1's second): partition 0 is read to its end, partition 1 after n=4, partition 2 from its start.
        var rest = await reader.ReadAsync(all[4].Cursor);
        rest.Select(e => e.Result).Should().Equal("{\"n\":7}", "{\"n\":2}", "{\"n\":5}", "{\"n\":8}");
        (await reader.ReadAsync(all[^1].Cursor)).Should().BeEmpty();
        (await reader.ReadAsync(reader.StartCursor, maxCount: 1)).Select(e => e.Result).Should().Equal("{\"n\":0}", "{\"n\":1}", "{\"n\":2}");
    }

    [Fact]
    public async Task A_client_that_resumes_after_results_it_had_not_seen_were_trimmed_is_told_with_a_gap_event()
    {
        var options = new PartitionedOptions { Stream = _stream, Group = "g", KeyPrefix = _prefix, Partitions = 2 };
        var keys = new PartitionKeys(_prefix, _stream, "g", 2);
        var db = redis.Connection.GetDatabase();
        for (var i = 0; i < 6; i++)
        {
            await db.StreamAddAsync(keys.Results(i % 2), "result", $"{{\"n\":{i}}}");
        }

        var reader = new RedisResultsReader(redis.Connection, options, TimeSpan.FromMilliseconds(10));
        var seen = await reader.ReadAsync(reader.StartCursor, maxCount: 1); // the client saw n=0 (partition 0) and n=1 (partition 1)

        // The retention trims partition 0 past what the client saw (n=0 and n=2 are gone before it comes back); partition 1 keeps all.
        await db.StreamTrimAsync(keys.Results(0), maxLength: 1);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var items = new List<System.Net.ServerSentEvents.SseItem<string>>();
        await foreach (var item in reader.SubscribeAsync(seen[^1].Cursor, stop.Token))
        {
            items.Add(item);
            if (item.EventType == "results")
            {
                break;
            }
        }

        items.Select(i => i.EventType).Should().Equal("gap", "results");
        items[0].Data.Should().Be("{\"trimmedPartitions\":[0]}");
        items[1].Data.Should().Be("[{\"n\":4},{\"n\":3},{\"n\":5}]", "what is left after the cursor still follows");

        // A client whose position is past every trim resumes without a gap event.
        var caughtUp = reader.SubscribeAsync(items[1].EventId, stop.Token).GetAsyncEnumerator(stop.Token);
        await db.StreamAddAsync(keys.Results(1), "result", "{\"n\":6}");
        (await caughtUp.MoveNextAsync()).Should().BeTrue();
        caughtUp.Current.EventType.Should().Be("results");
        await caughtUp.DisposeAsync();
    }

    [Fact]
    public async Task A_reader_with_another_partition_count_than_the_computation_is_refused()
    {
        var db = redis.Connection.GetDatabase();
        await db.StringSetAsync(new PartitionKeys(_prefix, _stream, "g", 1).Definition, "{\"partitions\":\"8\"}");
        var reader = new RedisResultsReader(redis.Connection, new PartitionedOptions { Stream = _stream, Group = "g", KeyPrefix = _prefix, Partitions = 4 });

        var act = () => reader.GetEndCursorAsync();

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*has 8 partitions; this reader was given 4*");
    }
}
