using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace EventStream.Tests.DeadLetters;

/// <summary>
/// Issue 12: a flood of late events filled the in-memory dead-letter store for good (replaying them fails them again and
/// nothing could take an entry out), and each entry kept its whole event, so the store's bytes were unbounded.
/// </summary>
public sealed class DeadLetterDiscardTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_store_full_of_late_events_accepts_ingest_again_once_they_are_discarded()
    {
        // The attack in miniature: capacity 10, 11 late events (an attacker's timestamp 0), the store full, ingest refused
        // even after a replay (the events are late again); discarding the late entries lets ingest in again.
        var store = new InMemoryDeadLetterStore(new InMemoryDeadLetterStoreOptions { Capacity = 10 });
        var results = new ConcurrentQueue<long>();
        await using var pipeline = Windowed(store, results);
        var late = Enumerable.Range(0, 11).Select(i => ("attacker", (long)i)).ToArray();
        await pipeline.WriteAsync(("k", 1_000));
        await pipeline.WriteBatchAsync(late);
        await TestSupport.Eventually(() => pipeline.GetMetrics().Late == 11, "eleven late events");

        store.IsFull.Should().BeTrue();
        var refused = () => pipeline.Ingest(new[] { ("k", 1_001L) });
        refused.Should().Throw<DeadLetterStoreFullException>();
        (await pipeline.ReplayDeadLettersAsync()).FailedAgain.Should().Be(11);
        refused.Should().Throw<DeadLetterStoreFullException>("replaying late events only fails them again");

        (await pipeline.DiscardDeadLettersAsync(new DeadLetterDiscard { Reason = DeadLetterReason.Late })).Should().Be(11);

        store.IsFull.Should().BeFalse();
        store.Count.Should().Be(0);
        store.Bytes.Should().Be(0, "discarding frees the bytes too");
        pipeline.Ingest(new[] { ("k", 1_001L) });
        await pipeline.CompleteAsync();
        results.Should().NotBeEmpty("the window after the discard fired");
        var m = pipeline.GetMetrics();
        m.Accepted.Should().Be(13);
        m.Rejected.Should().Be(2);
        m.Discarded.Should().Be(11);
        m.ShouldBeBalanced();
        m.ShouldAccountForTheStore(0);
    }

    [Fact]
    public async Task The_store_is_full_when_its_bytes_reach_the_byte_capacity_however_few_the_entries()
    {
        var store = new InMemoryDeadLetterStore(new InMemoryDeadLetterStoreOptions { Capacity = 1_000, CapacityBytes = 10_000 });
        await store.AddAsync(Entry("small", "p", new string('x', 100)));
        store.IsFull.Should().BeFalse();
        var small = store.Bytes;
        small.Should().BeGreaterThan(200, "two bytes per character of the event, plus the entry's own strings and overhead");

        await store.AddAsync(Entry("big", "p", new string('x', 5_000)));

        store.Count.Should().Be(2);
        store.Bytes.Should().BeGreaterThanOrEqualTo(small + 10_000);
        store.IsFull.Should().BeTrue("5,000 characters are 10,000 bytes");
        (await store.DiscardAsync("p", new DeadLetterDiscard { Ids = ["big"] })).Should().Be(1);
        store.IsFull.Should().BeFalse();
        store.Bytes.Should().Be(small);
        (await store.RemoveAsync("small")).Should().BeTrue();
        store.Bytes.Should().Be(0);
    }

    [Fact]
    public async Task Replacing_an_entry_counts_its_new_size()
    {
        var store = new InMemoryDeadLetterStore(new InMemoryDeadLetterStoreOptions { CapacityBytes = 4_000 });
        await store.AddAsync(Entry("1", "p", "short"));
        var before = store.Bytes;

        await store.ReplaceAsync(Entry("1", "p", new string('x', 2_000)));

        store.Bytes.Should().Be(before + (2 * (2_000 - "short".Length)));
        store.IsFull.Should().BeTrue();
    }

    [Fact]
    public async Task In_wait_mode_a_store_full_by_bytes_makes_recording_wait_until_a_discard_frees_room()
    {
        var store = new InMemoryDeadLetterStore(new InMemoryDeadLetterStoreOptions { CapacityBytes = 1_000, FullMode = DeadLetterFullMode.Wait });
        await store.AddAsync(Entry("big", "p", new string('x', 1_000)));

        var waiting = store.AddAsync(Entry("next", "p")).AsTask();
        await Task.Delay(50);
        waiting.IsCompleted.Should().BeFalse("the store holds more bytes than its capacity");

        (await store.DiscardAsync("p", new DeadLetterDiscard { Ids = ["big"] })).Should().Be(1);
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        store.Count.Should().Be(1);
    }

    [Fact]
    public void A_byte_capacity_below_one_is_refused()
    {
        var act = () => new InMemoryDeadLetterStore(new InMemoryDeadLetterStoreOptions { CapacityBytes = 0 });

        act.Should().Throw<ArgumentException>().WithMessage("*CapacityBytes*");
        new InMemoryDeadLetterStoreOptions().CapacityBytes.Should().Be(64L * 1024 * 1024);
    }

    [Fact]
    public async Task A_discard_leaves_alone_the_entries_being_replayed()
    {
        // A replayed entry discarded meanwhile would leave the store twice (replayed and discarded), or, failing again,
        // be re-recorded after its discard: the store's accounting would no longer add up.
        var store = new InMemoryDeadLetterStore();
        var broken = 1;
        var entered = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pipeline = PipelineBuilder.Create<int>("replaying", o => { o.DeadLetterStore = store; o.Retry = RetryOptions.None; })
            .Enrich("downstream", async (int x, CancellationToken _) =>
            {
                if (Volatile.Read(ref broken) == 1)
                {
                    throw new IOException("down");
                }

                Interlocked.Increment(ref entered);
                await release.Task;
                return x;
            })
            .Sink("s", _ => { })
            .Build();
        await pipeline.WriteBatchAsync(new[] { 1, 2 });
        await TestSupport.Eventually(() => pipeline.GetMetrics().DeadLettered == 2, "two dead letters");
        Volatile.Write(ref broken, 0);

        var replay = pipeline.ReplayDeadLettersAsync(maxCount: 1);
        await TestSupport.Eventually(() => Volatile.Read(ref entered) == 1, "the oldest entry's replay is in the stage");
        var discarded = await pipeline.DiscardDeadLettersAsync(new DeadLetterDiscard { OlderThan = DateTimeOffset.MaxValue });
        release.SetResult();

        discarded.Should().Be(1, "only the entry not being replayed");
        (await replay).Should().Be(new ReplayResult(1, 0, 0));
        await pipeline.CompleteAsync();
        store.Count.Should().Be(0);
        var m = pipeline.GetMetrics();
        m.Discarded.Should().Be(1);
        m.ShouldBeBalanced();
        m.ShouldAccountForTheStore(0);
    }

    [Fact]
    public async Task Each_discard_is_one_warning_line_with_the_count_the_filter_and_the_pipeline()
    {
        var logs = new Logs();
        var store = new InMemoryDeadLetterStore();
        await store.AddAsync(Entry("orders-1", "orders") with { Reason = DeadLetterReason.Late });
        await store.AddAsync(Entry("orders-2", "orders") with { Reason = DeadLetterReason.Late });
        await using var pipeline = PipelineBuilder.Create<int>("orders", o => { o.DeadLetterStore = store; o.LoggerFactory = logs; })
            .Sink("s", _ => { })
            .Build();

        await pipeline.DiscardDeadLettersAsync(new DeadLetterDiscard { Reason = DeadLetterReason.Late });
        await pipeline.DiscardDeadLettersAsync(new DeadLetterDiscard { Ids = ["a", "b"] });

        logs.Lines.Should().Equal(
            "Warning: Pipeline orders: discarded 2 dead letter(s) from its store (filter: reason: Late); they are gone for good.",
            "Warning: Pipeline orders: discarded 0 dead letter(s) from its store (filter: ids: a, b); they are gone for good.");
    }

    [Fact]
    public async Task Discards_are_published_on_the_meter()
    {
        var store = new InMemoryDeadLetterStore();
        await store.AddAsync(Entry("metered-1", "metered"));
        long published = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EventStreamMeter.MeterName && instrument.Name == EventStreamMeter.Discarded)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "pipeline" && (string?)tag.Value == "metered")
                {
                    Interlocked.Add(ref published, value);
                }
            }
        });
        listener.Start();
        await using var pipeline = PipelineBuilder.Create<int>("metered", o => o.DeadLetterStore = store)
            .Sink("s", _ => { })
            .Build();

        await pipeline.DiscardDeadLettersAsync(new DeadLetterDiscard { Ids = ["metered-1"] });

        Interlocked.Read(ref published).Should().Be(1);
    }

    [Fact]
    public async Task A_store_without_a_discard_of_its_own_gets_one_that_lists_and_removes()
    {
        IDeadLetterStore store = new MinimalStore();
        await store.AddAsync(Entry("1", "p") with { Reason = DeadLetterReason.Late });
        await store.AddAsync(Entry("2", "p"));
        await store.AddAsync(Entry("3", "q") with { Reason = DeadLetterReason.Late });

        (await store.DiscardAsync("p", new DeadLetterDiscard { Reason = DeadLetterReason.Late })).Should().Be(1);

        (await store.ListAsync()).Select(e => e.Id).Should().Equal("2", "3");
    }

    [Fact]
    public void The_filter_describes_itself_for_the_log_and_matches_on_every_criterion_set()
    {
        var filter = new DeadLetterDiscard { Ids = ["1", "2", "3", "4"], Reason = DeadLetterReason.Failed, OlderThan = At };

        filter.ToString().Should().Be("ids: 4; reason: Failed; last failure before: 2026-11-26T12:00:00.0000000+00:00");
        filter.Matches(Entry("1", "p") with { LastFailure = At.AddTicks(-1) }).Should().BeTrue();
        filter.Matches(Entry("1", "p") with { LastFailure = At }).Should().BeFalse();
        filter.Matches(Entry("5", "p") with { LastFailure = At.AddDays(-1) }).Should().BeFalse();
        filter.Matches(Entry("1", "p") with { Reason = DeadLetterReason.Late, LastFailure = At.AddDays(-1) }).Should().BeFalse();
    }

    private static IEventPipeline<(string Key, long Ts)> Windowed(IDeadLetterStore store, ConcurrentQueue<long> results) =>
        PipelineBuilder.Create<(string Key, long Ts)>("clicks", o => o.DeadLetterStore = store)
            .Window("per-key", new WindowOptions<(string Key, long Ts), string>
            {
                Assigner = WindowAssigner.Tumbling(TimeSpan.FromMilliseconds(10)),
                Key = e => e.Key,
                Timestamp = e => e.Ts,
            }, Aggregates.Count<(string Key, long Ts)>())
            .Sink("collect", r => results.Enqueue(r.Value))
            .Build();

    private static DeadLetterEntry Entry(string id, string pipeline, object? payload = null) => new()
    {
        Id = id,
        Pipeline = pipeline,
        Stage = "stage",
        Reason = DeadLetterReason.Failed,
        Message = "down",
        Attempts = 1,
        FirstFailure = At,
        LastFailure = At,
        Event = payload ?? id,
    };

    [Fact]
    public async Task A_store_written_before_paging_pages_by_position_in_its_listing()
    {
        IDeadLetterStore store = new MinimalStore();
        foreach (var id in new[] { "1", "2", "3", "4", "5" })
        {
            await store.AddAsync(Entry(id, "p"));
        }

        var pages = new List<IReadOnlyList<string>>();
        string? after = null;
        do
        {
            var page = await store.ListPageAsync("p", limit: 2, after);
            pages.Add([.. page.Entries.Select(e => e.Id)]);
            after = page.Next;
        }
        while (after is not null);

        pages.Should().BeEquivalentTo(new[] { new[] { "1", "2" }, ["3", "4"], ["5"] }, o => o.WithStrictOrdering());
    }

    /// <summary>A third party's store, written before discard and paging existed: only the members it had to implement.</summary>
    private sealed class MinimalStore : IDeadLetterStore
    {
        private readonly List<DeadLetterEntry> _entries = [];

        public bool IsFull => false;

        public ValueTask AddAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default)
        {
            _entries.Add(entry);
            return default;
        }

        public ValueTask ReplaceAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default)
        {
            _entries[_entries.FindIndex(e => e.Id == entry.Id)] = entry;
            return default;
        }

        public ValueTask<IReadOnlyList<DeadLetterEntry>> ListAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default) =>
            new(_entries.Where(e => pipeline is null || e.Pipeline == pipeline).Take(limit).ToList());

        public ValueTask<long> CountAsync(string? pipeline = null, CancellationToken cancellationToken = default) =>
            new(_entries.LongCount(e => pipeline is null || e.Pipeline == pipeline));

        public ValueTask<bool> RemoveAsync(string id, CancellationToken cancellationToken = default) =>
            new(_entries.RemoveAll(e => e.Id == id) == 1);
    }

    private sealed class Logs : ILoggerFactory, ILogger
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
            }
        }

        public void Dispose()
        {
        }
    }
}
