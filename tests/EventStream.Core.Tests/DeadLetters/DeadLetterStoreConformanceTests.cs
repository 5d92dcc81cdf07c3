using System.Collections.Concurrent;

namespace EventStream.Tests.DeadLetters;

/// <summary>What every dead-letter store must do: derive a class per store and implement <see cref="CreateStore"/>.</summary>
public abstract partial class DeadLetterStoreConformanceTests
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
    public async Task Pages_go_through_every_entry_once_oldest_first_even_when_entries_leave_between_pages()
    {
        var store = CreateStore();
        foreach (var id in new[] { "a-1", "b-1", "a-2", "a-3", "a-4", "a-5" })
        {
            await store.AddAsync(Entry(id, id[..1]));
        }

        var first = await store.ListPageAsync("a", limit: 2, after: null);
        first.Entries.Select(e => e.Id).Should().Equal("a-1", "a-2");
        first.Next.Should().NotBeNull();

        // Replayed or discarded between pages: the entry before the cursor, and one on the next page.
        await store.RemoveAsync("a-1");
        await store.RemoveAsync("a-3");

        var second = await store.ListPageAsync("a", limit: 2, after: first.Next);
        second.Entries.Select(e => e.Id).Should().Equal("a-4", "a-5");
        second.Next.Should().BeNull("a-5 is the pipeline's last entry");
        (await store.ListPageAsync(null, limit: 10, after: null)).Entries.Select(e => e.Id).Should().Equal("b-1", "a-2", "a-4", "a-5");
        await store.Invoking(s => s.ListPageAsync("a", 2, "not-a-cursor").AsTask()).Should().ThrowAsync<ArgumentException>().WithMessage("*not a dead-letter cursor*");
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
        var delivered = new ConcurrentQueue<int>();
        await using var pipeline = PipelineBuilder.Create<int>("not-full", o => o.DeadLetterStore = store)
            .Sink("s", x => delivered.Enqueue(x))
            .Build();

        pipeline.Ingest(new[] { 1, 2 });
        pipeline.TryWrite(3).Should().BeTrue();
        await pipeline.WriteAsync(4);
        await pipeline.WriteBatchAsync(new[] { 5 });
        await pipeline.CompleteAsync();

        delivered.Should().BeEquivalentTo(new[] { 1, 2, 3, 4, 5 }, "every door admits while the store holds an entry and is not full");
        var m = pipeline.GetMetrics();
        m.Accepted.Should().Be(5);
        m.Rejected.Should().Be(0);
    }

    [Fact]
    public async Task Replay_after_the_fault_is_fixed_delivers_the_events_and_empties_the_store()
    {
        var store = CreateStore();
        var broken = true;
        var delivered = new ConcurrentQueue<int>();
        await using var pipeline = PipelineBuilder.Create<int>("replay", o => { o.DeadLetterStore = store; o.Retry = RetryOptions.None; })
            .Transform("double", x => x * 2)
            .Enrich("downstream", (int x, CancellationToken _) => Volatile.Read(ref broken) ? throw new IOException("down") : ValueTask.FromResult(x))
            .Sink("s", x => delivered.Enqueue(x))
            .Build();

        for (var i = 1; i <= 5; i++)
        {
            await pipeline.WriteAsync(i);
        }

        await TestSupport.Eventually(() => pipeline.GetMetrics().DeadLettered == 5, "five dead letters");
        (await store.CountAsync("replay")).Should().Be(5);
        (await store.ListAsync("replay")).Select(e => (e.Stage, (int)e.Event!)).Should().Equal(
            new[] { 2, 4, 6, 8, 10 }.Select(x => ("downstream", x)),
            "each entry holds the event as it entered the failing stage, oldest first, read back with its type");

        Volatile.Write(ref broken, false);
        var result = await pipeline.ReplayDeadLettersAsync();

        result.Should().Be(new ReplayResult(5, 0, 0));
        (await store.CountAsync()).Should().Be(0);
        await pipeline.CompleteAsync();
        delivered.Should().Equal(new[] { 2, 4, 6, 8, 10 }, "the replayed events re-entered the failing stage, not the first one, oldest first");
        var m = pipeline.GetMetrics();
        m.Replayed.Should().Be(5);
        m.ShouldBeBalanced();
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
        TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        Event = payload ?? id,
    };
}

public sealed class InMemoryDeadLetterStoreTests : DeadLetterStoreConformanceTests
{
    protected override IDeadLetterStore CreateStore() => new InMemoryDeadLetterStore();
}
