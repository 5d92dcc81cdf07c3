using System.Collections.Concurrent;

namespace EventStream.Tests.DeadLetters;

/// <summary>Discarding dead letters (issue 12), the same for every store.</summary>
public abstract partial class DeadLetterStoreConformanceTests
{
    [Fact]
    public async Task Discard_by_ids_takes_out_exactly_those_entries_and_says_how_many()
    {
        var store = CreateStore();
        await store.AddAsync(Entry("1", "p"));
        await store.AddAsync(Entry("2", "p"));
        await store.AddAsync(Entry("3", "p"));

        var discarded = await store.DiscardAsync("p", new DeadLetterDiscard { Ids = ["1", "3", "absent"] });

        discarded.Should().Be(2, "an id not in the store is not counted");
        (await store.ListAsync()).Select(e => e.Id).Should().Equal("2");
        (await store.DiscardAsync("p", new DeadLetterDiscard { Ids = ["1"] })).Should().Be(0, "an entry is discarded once");
    }

    [Fact]
    public async Task Discard_by_reason_takes_out_every_entry_with_that_reason()
    {
        var store = CreateStore();
        await store.AddAsync(Entry("late-1", "p") with { Reason = DeadLetterReason.Late });
        await store.AddAsync(Entry("failed", "p"));
        await store.AddAsync(Entry("late-2", "p") with { Reason = DeadLetterReason.Late });
        await store.AddAsync(Entry("canceled", "p") with { Reason = DeadLetterReason.Canceled });

        (await store.DiscardAsync("p", new DeadLetterDiscard { Reason = DeadLetterReason.Late })).Should().Be(2);

        (await store.ListAsync()).Select(e => e.Id).Should().Equal("failed", "canceled");
    }

    [Fact]
    public async Task Discard_older_than_compares_the_last_failure_strictly()
    {
        var store = CreateStore();
        var t = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
        await store.AddAsync(Entry("old", "p") with { FirstFailure = t.AddHours(-3), LastFailure = t.AddHours(-2) });
        await store.AddAsync(Entry("retried-lately", "p") with { FirstFailure = t.AddHours(-3), LastFailure = t.AddMinutes(1) });
        await store.AddAsync(Entry("at-the-limit", "p") with { FirstFailure = t, LastFailure = t });

        (await store.DiscardAsync("p", new DeadLetterDiscard { OlderThan = t })).Should().Be(1);

        (await store.ListAsync()).Select(e => e.Id).Should().Equal(
            new[] { "retried-lately", "at-the-limit" }, "an entry whose first failure is old but that failed again lately stays; 'older than' is strict");
    }

    [Fact]
    public async Task Discard_criteria_combine_an_entry_must_match_all_of_them()
    {
        var store = CreateStore();
        var t = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
        await store.AddAsync(Entry("old-late", "p") with { Reason = DeadLetterReason.Late, LastFailure = t.AddHours(-1) });
        await store.AddAsync(Entry("new-late", "p") with { Reason = DeadLetterReason.Late, LastFailure = t.AddHours(1) });
        await store.AddAsync(Entry("old-failed", "p") with { LastFailure = t.AddHours(-1) });

        (await store.DiscardAsync("p", new DeadLetterDiscard { Reason = DeadLetterReason.Late, OlderThan = t })).Should().Be(1);
        (await store.DiscardAsync("p", new DeadLetterDiscard { Ids = ["new-late", "old-failed"], Reason = DeadLetterReason.Late })).Should().Be(1);

        (await store.ListAsync()).Select(e => e.Id).Should().Equal("old-failed");
    }

    [Fact]
    public async Task Discard_is_limited_to_the_pipeline_given_and_reaches_every_pipeline_without_one()
    {
        var store = CreateStore();
        await store.AddAsync(Entry("a-1", "a"));
        await store.AddAsync(Entry("b-1", "b"));
        await store.AddAsync(Entry("a-2", "a"));
        var everything = new DeadLetterDiscard { OlderThan = DateTimeOffset.MaxValue };

        (await store.DiscardAsync("a", new DeadLetterDiscard { Ids = ["b-1"] })).Should().Be(0, "b-1 is another pipeline's");
        (await store.DiscardAsync("a", everything)).Should().Be(2);
        (await store.CountAsync("a")).Should().Be(0);
        (await store.ListAsync()).Select(e => e.Id).Should().Equal("b-1");
        (await store.ListAsync("b")).Select(e => e.Id).Should().Equal("b-1");

        (await store.DiscardAsync(null, everything)).Should().Be(1);
        (await store.CountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Discard_with_no_criterion_is_refused_rather_than_emptying_the_store()
    {
        var store = CreateStore();
        await store.AddAsync(Entry("1", "p"));

        var act = async () => await store.DiscardAsync("p", new DeadLetterDiscard());

        await act.Should().ThrowAsync<ArgumentException>().WithMessage("*DateTimeOffset.MaxValue*");
        (await store.CountAsync()).Should().Be(1);
    }

    [Fact]
    public async Task Discard_of_many_entries_takes_them_all()
    {
        // More than one page of the Redis store's discard script (1,000 entries).
        var store = CreateStore();
        for (var i = 0; i < 2_500; i++)
        {
            await store.AddAsync(Entry($"e-{i}", i % 2 == 0 ? "even" : "odd") with { Reason = i % 5 == 0 ? DeadLetterReason.Failed : DeadLetterReason.Late });
        }

        (await store.DiscardAsync("even", new DeadLetterDiscard { Reason = DeadLetterReason.Late })).Should().Be(1_000);
        (await store.CountAsync("even")).Should().Be(250);
        (await store.DiscardAsync(null, new DeadLetterDiscard { Ids = Enumerable.Range(0, 2_500).Select(i => $"e-{i}").ToArray() })).Should().Be(1_500);
        (await store.CountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Discarding_through_the_pipeline_counts_each_entry_and_keeps_the_accounting()
    {
        var store = CreateStore();
        await using var pipeline = PipelineBuilder.Create<int>("discard", o => { o.DeadLetterStore = store; o.Retry = RetryOptions.None; })
            .Enrich("downstream", (int x, CancellationToken _) => x > 0 ? throw new IOException("down") : ValueTask.FromResult(x))
            .Sink("s", _ => { })
            .Build();
        await pipeline.WriteBatchAsync(new[] { 1, 2, 3, 4, 5 });
        await TestSupport.Eventually(() => pipeline.GetMetrics().DeadLettered == 5, "five dead letters");
        var ids = (await store.ListAsync("discard")).Select(e => e.Id).ToList();

        (await pipeline.DiscardDeadLettersAsync(new DeadLetterDiscard { Ids = ids.Take(2).ToArray() })).Should().Be(2);
        pipeline.GetMetrics().ShouldAccountForTheStore(await store.CountAsync("discard"));
        (await pipeline.DiscardDeadLettersAsync(new DeadLetterDiscard { Reason = DeadLetterReason.Failed })).Should().Be(3);
        (await pipeline.DiscardDeadLettersAsync(new DeadLetterDiscard { Reason = DeadLetterReason.Failed })).Should().Be(0);
        await pipeline.CompleteAsync();

        (await store.CountAsync()).Should().Be(0);
        var m = pipeline.GetMetrics();
        m.Discarded.Should().Be(5);
        m.DeadLettered.Should().Be(5, "a discarded event stays counted as dead-lettered");
        m.ShouldBeBalanced();
        m.ShouldAccountForTheStore(0);
    }

    [Fact]
    public async Task Discarding_through_the_pipeline_takes_only_that_pipelines_entries()
    {
        var store = CreateStore();
        await store.AddAsync(Entry("other-1", "other"));
        await using var pipeline = PipelineBuilder.Create<int>("mine", o => o.DeadLetterStore = store)
            .Sink("s", _ => { })
            .Build();

        (await pipeline.DiscardDeadLettersAsync(new DeadLetterDiscard { OlderThan = DateTimeOffset.MaxValue })).Should().Be(0);

        (await store.CountAsync("other")).Should().Be(1);
        pipeline.GetMetrics().Discarded.Should().Be(0);
    }

    [Fact]
    public async Task A_replayed_late_event_stays_late_and_discarding_it_keeps_the_accounting()
    {
        var store = CreateStore();
        // Events that read back from any store as they were written (a value tuple would come back from JSON empty).
        var results = new ConcurrentQueue<long>();
        await using var pipeline = PipelineBuilder.Create<Click>("late-discard", o => o.DeadLetterStore = store)
            .Window("per-key", new WindowOptions<Click, string>
            {
                Assigner = WindowAssigner.Tumbling(TimeSpan.FromMilliseconds(10)),
                Key = e => e.Key,
                Timestamp = e => e.Ts,
            }, Aggregates.Count<Click>())
            .Sink("collect", r => results.Enqueue(r.Value))
            .Build();
        await pipeline.WriteAsync(new Click("k", 1_000));
        await pipeline.WriteBatchAsync(new[] { new Click("k", 0), new Click("k", 1), new Click("k", 2) });
        await TestSupport.Eventually(() => pipeline.GetMetrics().Late == 3, "three late events");

        (await pipeline.ReplayDeadLettersAsync()).Should().Be(new ReplayResult(0, 3, 0), "their windows are gone: replay fails them again");
        (await store.CountAsync("late-discard")).Should().Be(3);
        pipeline.GetMetrics().ShouldAccountForTheStore(3);

        (await pipeline.DiscardDeadLettersAsync(new DeadLetterDiscard { Reason = DeadLetterReason.Late })).Should().Be(3);
        await pipeline.CompleteAsync();

        var m = pipeline.GetMetrics();
        m.Late.Should().Be(6);
        m.Replayed.Should().Be(3);
        m.Discarded.Should().Be(3);
        m.ShouldBeBalanced();
        m.ShouldAccountForTheStore(0);
        (await store.CountAsync()).Should().Be(0);
    }

    /// <summary>An event for the discard tests: a record, so that it reads back from JSON as it was written.</summary>
    /// <param name="Key">The window key.</param>
    /// <param name="Ts">The event time.</param>
    public sealed record Click(string Key, long Ts);
}
