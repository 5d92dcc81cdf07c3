using EventStream.Windowing.State;
using EventStream.Windowing;
using FluentAssertions;
using Xunit;

namespace EventStream.Tests.Windowing;

/// <summary>
/// The window engine's state, exported as deltas at commits and restored by a new engine after a crash, must give
/// exactly the results one uninterrupted engine gives: every window kind, out-of-order and late input, allowed
/// lateness, early firings and session merges, at random commit and crash points.
/// </summary>
public sealed class WindowStateTests
{
    public static TheoryData<string, string, int> Cases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var kind in new[] { "tumbling", "sliding", "sliding-blocks", "session" })
        {
            foreach (var aggregate in new[] { "count", "sum", "avg", "min", "max", "distinct", "distinct-sketch", "user-defined" })
            {
                foreach (var seed in new[] { 1, 2, 3 })
                {
                    data.Add(kind, aggregate, seed);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Restoring_the_committed_state_and_reprocessing_from_the_commit_gives_the_uninterrupted_results(string kind, string aggregate, int seed)
    {
        switch (aggregate)
        {
            case "count": Check(kind, seed, Aggregates.Count<Ev>(), c => c); break;
            case "sum": Check(kind, seed, Aggregates.Sum<Ev>(e => e.Value), s => s); break;
            case "avg": Check(kind, seed, Aggregates.Average<Ev>(e => e.Value), a => a); break;
            case "min": Check(kind, seed, Aggregates.Min<Ev>(e => e.Value), m => m); break;
            case "max": Check(kind, seed, Aggregates.Max<Ev>(e => e.Value), m => m); break;
            case "distinct": Check(kind, seed, Aggregates.DistinctCount<Ev, double>(e => e.Value), d => d); break;
            case "distinct-sketch": Check(kind, seed, Aggregates.DistinctCount<Ev, long>(e => e.Id), d => d, manyValues: true); break;
            default:
                Check(kind, seed, Aggregates.Create<Ev, Moments, double>(
                    () => new Moments(0, 0, 0),
                    (m, e) => new Moments(m.N + 1, m.Sum + e.Value, m.SumOfSquares + (e.Value * e.Value)),
                    (l, r) => new Moments(l.N + r.N, l.Sum + r.Sum, l.SumOfSquares + r.SumOfSquares),
                    m => m.N == 0 ? 0 : (m.SumOfSquares / m.N) - Math.Pow(m.Sum / m.N, 2)), v => v);
                break;
        }
    }

    [Fact]
    public void A_commit_writes_only_what_changed_since_the_last_one()
    {
        var engine = Engine(WindowAssigner.Sliding(TimeSpan.FromSeconds(300), TimeSpan.FromSeconds(1)), Aggregates.Count<Ev>(), ooo: 0, lateness: 0);
        var output = new List<WindowResult<string, long>>();
        for (var key = 0; key < 100; key++)
        {
            for (var second = 0; second < 60; second++)
            {
                engine.Add($"k{key}", second * 1000, new Ev($"k{key}", second * 1000, 1), output);
            }
        }

        var store = new Store();
        engine.ExportChanges(store);
        var full = store.Entries.Count;

        store.Written = 0;
        engine.Add("k7", 59_500, new Ev("k7", 59_500, 1), output); // the watermark moves to 59,499: nothing is due
        engine.ExportChanges(store);

        // Slices and window records are written in groups of 64 per key: each key's 60 slices (0 s to 59 s) are one
        // entry, and the 300 windows still open (starts -240 s to 59 s: the earlier ones ended by 59 s and fired) five
        // (groups from -256 s, by 64 s).
        int Kind(char kind) => store.Entries.Keys.Count(f => Convert.FromHexString(f)[0] == (byte)kind);
        Kind('S').Should().Be(100, "one group of slices per key");
        Kind('W').Should().Be(500, "five groups of window records per key");
        full.Should().Be(100 + 500 + Kind('B'));
        store.Written.Should().Be(2, "one event changes its slice group and its block, not the state of 100 keys");
    }

    [Fact]
    public void A_restore_needs_an_empty_engine_and_a_field_of_its_own_window_kind()
    {
        var sliding = Engine(WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)), Aggregates.Count<Ev>(), 0, 0);
        var output = new List<WindowResult<string, long>>();
        sliding.Add("a", 1, new Ev("a", 1, 1), output);
        var store = new Store();
        sliding.ExportChanges(store);

        var again = () => sliding.Restore(WindowClock.Empty);
        again.Should().Throw<InvalidOperationException>().WithMessage("*empty engine*");

        var session = Engine(WindowAssigner.Session(TimeSpan.FromSeconds(1)), Aggregates.Count<Ev>(), 0, 0);
        session.Restore(sliding.Clock);
        var (field, value) = store.Entries.First();
        var wrongKind = () => session.RestoreEntry(Convert.FromHexString(field), value);
        wrongKind.Should().Throw<FormatException>().WithMessage("*does not belong to a session window*");

        var tumbling = Engine(WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)), Aggregates.Count<Ev>(), 0, 0);
        tumbling.Restore(sliding.Clock);
        var truncated = () => tumbling.RestoreEntry(Convert.FromHexString(field).AsSpan(0, 4), value);
        truncated.Should().Throw<FormatException>().WithMessage("Not a window state field (4 bytes*");
        var cutValue = () => tumbling.RestoreEntry(Convert.FromHexString(field), value.AsSpan(0, 1));
        cutValue.Should().Throw<FormatException>().WithMessage("*ends*");
    }

    private static void Check<TAcc, TResult>(string kind, int seed, IAggregator<Ev, TAcc, TResult> aggregate, Func<TResult, double> value, bool manyValues = false)
    {
        var random = new Random(seed * 104_729 + kind.Length);
        WindowAssigner assigner = kind switch
        {
            "tumbling" => WindowAssigner.Tumbling(TimeSpan.FromMilliseconds(100)),
            "sliding" => WindowAssigner.Sliding(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(30)),
            "sliding-blocks" => WindowAssigner.Sliding(TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(5)), // 40 slices: blocks
            _ => WindowAssigner.Session(TimeSpan.FromMilliseconds(40)),
        };
        var ooo = new long[] { 0, 5, 50 }[random.Next(3)];
        var lateness = new long[] { 0, 20, 150 }[random.Next(3)];
        var operations = Operations(random, manyValues);

        // One engine, never interrupted (and not tracking changes: the in-process path).
        var expected = new List<WindowResult<string, TResult>>();
        var expectedLate = new List<long>();
        var plain = new WindowEngine<Ev, string, TAcc, TResult>(assigner, aggregate, ooo, lateness);
        foreach (var op in operations)
        {
            Apply(plain, op, expected, expectedLate);
        }

        plain.Complete(expected);

        // Engines that commit deltas at random points and crash at random points: a crash loses what was not
        // committed, and the new engine restores the committed state and processes again from the committed position.
        var codecs = new WindowStateCodecs<string, TAcc>(StateCodec.For<string>(), StateCodec.For<TAcc>());
        var store = new Store();
        var clock = WindowClock.Empty;
        var committed = new List<WindowResult<string, TResult>>();
        var committedLate = new List<long>();
        var pending = new List<WindowResult<string, TResult>>();
        var pendingLate = new List<long>();
        var engine = new WindowEngine<Ev, string, TAcc, TResult>(assigner, aggregate, ooo, lateness, state: codecs);
        var position = 0;
        var crashes = 0;
        var commits = 0;
        for (var i = 0; i < operations.Count;)
        {
            Apply(engine, operations[i], pending, pendingLate);
            i++;
            if (random.Next(25) == 0)
            {
                engine.ExportChanges(store);
                clock = engine.Clock;
                committed.AddRange(pending);
                committedLate.AddRange(pendingLate);
                pending.Clear();
                pendingLate.Clear();
                position = i;
                commits++;
                Lines(Snapshot(engine)).Should().Equal(Lines(store.Entries), "the deltas committed so far add up to the whole state (commit {0})", commits);
            }

            if (crashes < 6 && random.Next(60) == 0)
            {
                crashes++;
                pending.Clear();
                pendingLate.Clear();
                engine = new WindowEngine<Ev, string, TAcc, TResult>(assigner, aggregate, ooo, lateness, state: codecs);
                engine.Restore(clock);
                foreach (var (field, bytes) in store.Entries)
                {
                    engine.RestoreEntry(Convert.FromHexString(field), bytes);
                }

                engine.Clock.Watermark.Should().Be(clock.Watermark);
                i = position;
            }
        }

        engine.Complete(pending);
        engine.ExportChanges(store);
        committed.AddRange(pending);
        committedLate.AddRange(pendingLate);

        crashes.Should().BeGreaterThan(0, "the seed must exercise a restore");
        store.Entries.Should().BeEmpty("completion purges every entry, and the last delta removes them");
        committedLate.Should().Equal(expectedLate, "the same events are late");
        Order(committed, value).Should().Equal(Order(expected, value), "every firing is committed once, with the uninterrupted value");
    }

    private static List<(string, long, long, double, long, WindowFiring, int)> Order<TResult>(List<WindowResult<string, TResult>> results, Func<TResult, double> value) =>
        [.. results.Select(r => (r.Key, r.Start, r.End, value(r.Value), r.Count, r.Firing, r.FiringNumber)).Order()];

    private static void Apply<TAcc, TResult>(WindowEngine<Ev, string, TAcc, TResult> engine, Op op, List<WindowResult<string, TResult>> output, List<long> late)
    {
        switch (op.Event)
        {
            case { } e when !engine.Add(e.Key, e.Ts, e, output):
                late.Add(e.Id);
                break;
            case null when op.Watermark is { } watermark:
                engine.AdvanceTo(watermark, output);
                break;
            case null:
                engine.FireEarly(output);
                break;
        }
    }

    private static List<Op> Operations(Random random, bool manyValues)
    {
        var operations = new List<Op>();
        long clock = 1_000;
        for (var i = 0; i < 700; i++)
        {
            clock += random.Next(0, 12);
            var ts = random.Next(10) switch
            {
                < 6 => clock,
                < 8 => clock - random.Next(0, 60),
                8 => clock - random.Next(60, 400),
                _ => clock + random.Next(0, 30),
            };
            var id = manyValues ? random.Next(0, 100_000) : i;
            operations.Add(new Op(new Ev($"k{random.Next(manyValues ? 2 : 4)}", ts, random.Next(0, 8), id), null));
            switch (random.Next(40))
            {
                case 0:
                    operations.Add(new Op(null, null)); // an early firing
                    break;
                case 1:
                    operations.Add(new Op(null, clock - random.Next(0, 40))); // an idle watermark
                    break;
            }
        }

        return operations;
    }

    private static List<string> Lines(Dictionary<string, byte[]> entries) => [.. entries.Select(e => $"{e.Key}={Convert.ToHexString(e.Value)}").Order(StringComparer.Ordinal)];

    private static Dictionary<string, byte[]> Snapshot<TAcc, TResult>(WindowEngine<Ev, string, TAcc, TResult> engine)
    {
        var snapshot = new Store();
        engine.ExportAll(snapshot);
        return snapshot.Entries;
    }

    private static WindowEngine<Ev, string, long, long> Engine(WindowAssigner assigner, IAggregator<Ev, long, long> aggregate, long ooo, long lateness) =>
        new(assigner, aggregate, ooo, lateness, state: new WindowStateCodecs<string, long>(StateCodec.For<string>(), StateCodec.For<long>()));

    public sealed record Ev(string Key, long Ts, double Value, long Id = 0);

    public sealed record Moments(long N, double Sum, double SumOfSquares);

    private sealed record Op(Ev? Event, long? Watermark);

    /// <summary>A stand-in for the Redis hash a partition's state lives in: fields (as hex) to values.</summary>
    private sealed class Store : IWindowStateWriter
    {
        public Dictionary<string, byte[]> Entries { get; } = [];

        public int Written { get; set; }

        public void Upsert(ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
        {
            Entries[Convert.ToHexString(field)] = value.ToArray();
            Written++;
        }

        public void Remove(ReadOnlySpan<byte> field)
        {
            Entries.Remove(Convert.ToHexString(field));
            Written++;
        }
    }
}
