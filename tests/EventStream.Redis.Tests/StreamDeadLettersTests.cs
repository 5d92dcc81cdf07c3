
namespace EventStream.Redis.Tests;

/// <summary>
/// The dead-letter stream of a consumer group (<see cref="RedisDeadLetters"/>, the stream source's): its replay script
/// is gated on the dead letter still being there. These checks ran on the Lua window worker until its retirement.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class StreamDeadLettersTests(RedisServerFixture redis)
{
    [Fact]
    public async Task A_dead_letter_replayed_twice_goes_back_to_the_input_once()
    {
        var (stream, source, run, stop) = await StartSourceAsync(entries: 1);
        await TestSupport.Eventually(async () => await source.DeadLetters.CountAsync() == 1, "the unreadable entry is dead-lettered");
        await stop.CancelAsync();
        await run;
        var letter = (await source.DeadLetters.ListAsync()).Should().ContainSingle().Subject;
        letter.Event.Should().Be("{not json");
        letter.Error.Should().Contain("JsonException");

        (await source.DeadLetters.ReplayAsync(letter.Id)).Should().BeTrue();
        (await source.DeadLetters.ReplayAsync(letter.Id)).Should().BeFalse("a replayed dead letter is gone; replaying it again adds nothing");

        (await source.DeadLetters.CountAsync()).Should().Be(0);
        var input = await redis.Connection.GetDatabase().StreamRangeAsync(stream);
        input.Should().ContainSingle("the original entry left the input when it was dead-lettered; the replay added it once").Which["event"].ToString().Should().Be("{not json");
    }

    [Fact]
    public async Task Replaying_all_takes_the_dead_letters_present_at_its_start_once_even_when_each_fails_again_at_once()
    {
        var (_, source, run, stop) = await StartSourceAsync(entries: 1200);
        await TestSupport.Eventually(async () => await source.DeadLetters.CountAsync() == 1200, "every unreadable entry is dead-lettered", 30_000);

        // The running source dead-letters each replayed entry again within milliseconds: the replay must not chase them.
        (await source.DeadLetters.ReplayAllAsync().WaitAsync(TimeSpan.FromSeconds(60))).Should().Be(1200, "each dead letter there at the start, once");
        await TestSupport.Eventually(async () => await source.DeadLetters.CountAsync() == 1200, "each replayed entry is dead-lettered again", 30_000);

        await stop.CancelAsync();
        await run;
    }

    /// <summary>A running source over a new stream holding <paramref name="entries"/> unreadable entries.</summary>
    private async Task<(string Stream, RedisStreamSource<Click> Source, Task Run, CancellationTokenSource Stop)> StartSourceAsync(int entries)
    {
        var stream = "dead-" + Guid.NewGuid().ToString("N")[..8];
        var db = redis.Connection.GetDatabase();
        await db.StreamCreateConsumerGroupAsync(stream, "g", "0", createStream: true);
        await Task.WhenAll(Enumerable.Range(0, entries).Select(_ => db.StreamAddAsync(stream, "event", "{not json")));
        var pipeline = PipelineBuilder.Create<Click>("dead").Sink("s", _ => { }).Build();
        var source = new RedisStreamSource<Click>(redis.Connection, pipeline, new RedisStreamSourceOptions
        {
            Stream = stream,
            Group = "g",
            Consumer = "c",
            KeyPrefix = "t" + Guid.NewGuid().ToString("N")[..6],
            MaxPollDelay = TimeSpan.FromMilliseconds(2),
        });
        var stop = new CancellationTokenSource();
        var run = RunThenDisposeAsync(source.RunAsync(stop.Token), pipeline);
        return (stream, source, run, stop);
    }

    private static async Task RunThenDisposeAsync(Task run, IAsyncDisposable pipeline)
    {
        await run;
        await pipeline.DisposeAsync();
    }
}
