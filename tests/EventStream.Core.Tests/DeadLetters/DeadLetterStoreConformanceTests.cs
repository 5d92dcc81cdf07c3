using EventStream.DeadLetters;

namespace EventStream.Tests.DeadLetters;

/// <summary>What every dead-letter store must do: derive a class per store and implement <see cref="CreateStore"/>.</summary>
public abstract class DeadLetterStoreConformanceTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    protected abstract IDeadLetterStore CreateStore();

    [Fact]
    public async Task Entries_are_listed_oldest_first_with_everything_recorded()
    {
        var store = CreateStore();
        await store.AddAsync(Entry("a-1", "a", payload: 1));
        await store.AddAsync(Entry("b-1", "b", payload: 2));
        await store.AddAsync(Entry("a-2", "a", payload: 3));

        var all = await store.ListAsync();

        all.Select(e => e.Id).Should().Equal("a-1", "b-1", "a-2");
        all[0].Should().BeEquivalentTo(Entry("a-1", "a", payload: 1));
    }

    [Fact]
    public async Task Listing_and_counting_can_be_limited_to_one_pipeline()
    {
        var store = CreateStore();
        await store.AddAsync(Entry("a-1", "a"));
        await store.AddAsync(Entry("b-1", "b"));
        await store.AddAsync(Entry("a-2", "a"));

        (await store.ListAsync("a")).Select(e => e.Id).Should().Equal("a-1", "a-2");
        (await store.ListAsync("a", limit: 1)).Select(e => e.Id).Should().Equal("a-1");
        (await store.CountAsync("a")).Should().Be(2);
        (await store.CountAsync()).Should().Be(3);
    }

    [Fact]
    public async Task Remove_takes_out_one_entry_and_says_whether_it_was_there()
    {
        var store = CreateStore();
        await store.AddAsync(Entry("x", "p"));

        (await store.RemoveAsync("x")).Should().BeTrue();
        (await store.RemoveAsync("x")).Should().BeFalse();
        (await store.CountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Replace_keeps_the_entry_in_its_place_with_the_new_failure()
    {
        var store = CreateStore();
        await store.AddAsync(Entry("1", "p"));
        await store.AddAsync(Entry("2", "p"));

        await store.ReplaceAsync(Entry("1", "p") with { Attempts = 6, Replays = 1, Message = "still down" });

        var all = await store.ListAsync();
        all.Select(e => e.Id).Should().Equal("1", "2");
        all[0].Attempts.Should().Be(6);
        all[0].Message.Should().Be("still down");
    }

    [Fact]
    public async Task Adding_an_id_twice_is_refused_rather_than_losing_either_entry()
    {
        var store = CreateStore();
        await store.AddAsync(Entry("dup", "p"));

        var act = async () => await store.AddAsync(Entry("dup", "p"));

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*'dup'*");
        (await store.CountAsync()).Should().Be(1);
    }

    [Fact]
    public async Task A_store_that_is_not_full_does_not_reject_ingest()
    {
        var store = CreateStore();
        await store.AddAsync(Entry("1", "p"));

        store.IsFull.Should().BeFalse();
    }

    protected static DeadLetterEntry Entry(string id, string pipeline, object? payload = null) => new()
    {
        Id = id,
        Pipeline = pipeline,
        Stage = "stage",
        Reason = DeadLetterReason.Failed,
        ExceptionType = typeof(IOException).FullName,
        Message = "down",
        Attempts = 3,
        FirstFailure = At,
        LastFailure = At.AddSeconds(1),
        Event = payload ?? id,
    };
}

public sealed class InMemoryDeadLetterStoreTests : DeadLetterStoreConformanceTests
{
    protected override IDeadLetterStore CreateStore() => new InMemoryDeadLetterStore();
}
