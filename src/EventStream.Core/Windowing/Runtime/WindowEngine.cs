using EventStream.Windowing.State;
using System.Runtime.InteropServices;

namespace EventStream.Windowing;

/// <summary>
/// Event-time windowing for one stage, after Apache Flink, with the exact semantics the README states (The model, event-time windows). Single-threaded (it runs in
/// its segment's loop). Results are appended to the list the caller passes.
/// <list type="bullet">
/// <item>Watermark <c>W</c> starts at −∞; after each element <c>W = max(W, maxTimestamp − ooo − 1)</c>.</item>
/// <item>A window <c>[s, e)</c> is late when <c>e − 1 + L ≤ W</c>, judged with <c>W</c> as it was before the element; an
/// element is not added to late windows, and one added to no window is late.</item>
/// <item>A window fires when <c>W ≥ e − 1</c>; an element added to a window that is already due fires it again at once.</item>
/// <item>State is purged when <c>W ≥ e − 1 + L</c>. On completion <c>W = +∞</c> and every window not yet fired fires.</item>
/// </list>
/// Sliding and tumbling windows keep one accumulator per key and slice (gcd of size and slide), so an event costs one
/// update whatever size/slide is. When a window spans many slices, slices are also grouped into blocks of about
/// √(slices/2) with an accumulator each (an event updates its slice and its block), so a firing merges whole blocks in
/// the middle and single slices only at the edges: about 2·√(2·slices) merges instead of one per slice (49 instead of
/// 300 for a 5-minute window sliding by the second).
/// </summary>
internal sealed partial class WindowEngine<T, TKey, TAcc, TResult>
    where TKey : notnull
{
    private readonly IAggregator<T, TAcc, TResult> _aggregate;
    private readonly long _outOfOrderness;
    private readonly long _lateness;
    private readonly SlidingAssigner? _sliding;
    private readonly SessionAssigner? _session;
    private readonly Dictionary<(TKey Key, long Start), Slice> _slices;
    private readonly Dictionary<(TKey Key, long Start), WindowMeta> _windows;
    private readonly Dictionary<TKey, List<SessionWindow>> _sessions;
    private readonly TimerBuckets<Timer> _timers = new();

    // Session ends fall anywhere, so buckets would hold one timer each: sessions use a plain heap.
    private readonly PriorityQueue<Timer, long> _sessionTimers = new();
    private readonly Dictionary<(TKey Key, long Start), Slice>? _blocks;
    private readonly long _blockSpan;
    private readonly Dictionary<TKey, long>? _latestSlice;
    private long _version;

    // What a firing on the watermark is called: OnTime, or Stopped once the pipeline stops early.
    private WindowFiring _onTime = WindowFiring.OnTime;

    /// <summary>Creates the engine; with <paramref name="state"/> it also tracks its changes for <see cref="ExportChanges"/>.</summary>
    public WindowEngine(WindowAssigner assigner, IAggregator<T, TAcc, TResult> aggregate, long outOfOrderness, long lateness, IEqualityComparer<TKey>? comparer = null, WindowStateCodecs<TKey, TAcc>? state = null)
    {
        _aggregate = aggregate;
        _outOfOrderness = outOfOrderness;
        _lateness = lateness;
        _sliding = assigner as SlidingAssigner;
        _session = assigner as SessionAssigner;
        var pairComparer = new PairComparer(comparer ?? EqualityComparer<TKey>.Default);
        if (state is not null)
        {
            _codecs = state;
            _changed = new HashSet<StateRef>(new StateRefComparer(comparer ?? EqualityComparer<TKey>.Default));
        }

        _slices = new Dictionary<(TKey, long), Slice>(pairComparer);
        _windows = new Dictionary<(TKey, long), WindowMeta>(pairComparer);
        _sessions = new Dictionary<TKey, List<SessionWindow>>(comparer);
        if (_sliding is not null)
        {
            _latestSlice = new Dictionary<TKey, long>(comparer);
        }

        if (_sliding is { } sliding && sliding.Size / sliding.Pane >= 8)
        {
            var slicesPerWindow = sliding.Size / sliding.Pane;
            _blockSpan = Math.Max(2, (long)Math.Sqrt(slicesPerWindow / 2.0)) * sliding.Pane;
            _blocks = new Dictionary<(TKey, long), Slice>(pairComparer);
        }
    }

    /// <summary>The watermark; <see cref="long.MinValue"/> before the first element, <see cref="long.MaxValue"/> after completion.</summary>
    public long Watermark { get; private set; } = long.MinValue;

    public long MaxTimestamp { get; private set; } = long.MinValue;

    /// <summary>Windows holding state (fired or not, not yet purged).</summary>
    public int OpenWindows => _session is null ? _windows.Count : _sessions.Values.Sum(l => l.Count);

    /// <summary>Adds an element. Returns <see langword="false"/> when it is late (added to no window).</summary>
    public bool Add(TKey key, long timestamp, T item, List<WindowResult<TKey, TResult>> output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timestamp, WindowAssigner.MinTimestamp);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(timestamp, WindowAssigner.MaxTimestamp);
        var before = Watermark;
        bool added;
        try
        {
            added = _session is not null ? AddToSession(key, timestamp, item, before, output) : AddToSlices(key, timestamp, item, before, output);
        }
#pragma warning disable CA1031 // User code (the aggregate and its selectors): handed to the stage as the event's failure.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            throw new AggregateFailedException(ex);
        }

        if (timestamp > MaxTimestamp)
        {
            MaxTimestamp = timestamp;
        }

        var candidate = MaxTimestamp - _outOfOrderness - 1;
        if (MaxTimestamp != long.MinValue && candidate > Watermark)
        {
            AdvanceTo(candidate, output);
        }

        return added;
    }

    /// <summary>Moves the watermark forward (never back) and fires and purges what is due.</summary>
    public void AdvanceTo(long watermark, List<WindowResult<TKey, TResult>> output)
    {
        if (watermark <= Watermark)
        {
            return;
        }

        Watermark = watermark;
        while (_sessionTimers.TryPeek(out var sessionTimer, out var at) && at <= watermark)
        {
            _sessionTimers.Dequeue();
            OnSessionTimer(sessionTimer, output);
        }

        while (_timers.TryTakeDue(watermark, out var due))
        {
            foreach (var timer in due)
            {
                if (timer.Purge)
                {
                    Purge(timer);
                }
                else
                {
                    FireOnTime(timer, output);
                    if (timer.AlsoPurge)
                    {
                        Purge(timer with { Purge = true });
                    }
                }
            }

            _timers.Return(due);
        }
    }

    /// <summary>The input is complete: <c>W = +∞</c>; every window not yet fired fires, and all state goes.</summary>
    public void Complete(List<WindowResult<TKey, TResult>> output) => AdvanceTo(long.MaxValue, output);

    /// <summary>The pipeline stops before its input is complete: like <see cref="Complete"/>, but the firings say <see cref="WindowFiring.Stopped"/>.</summary>
    public void Stop(List<WindowResult<TKey, TResult>> output)
    {
        _onTime = WindowFiring.Stopped;
        AdvanceTo(long.MaxValue, output);
    }

    /// <summary>Emits the in-progress value of every window that has not fired yet and changed since its last early firing.</summary>
    public void FireEarly(List<WindowResult<TKey, TResult>> output)
    {
        if (_session is not null)
        {
            foreach (var (key, list) in _sessions)
            {
                foreach (var w in list)
                {
                    if (!w.Fired && w.Dirty)
                    {
                        w.Dirty = false;
                        w.Firings++;
                        Touch(WindowStateFormat.SessionEntry, key, w.Start);
                        output.Add(new WindowResult<TKey, TResult>(key, w.Start, w.End, _aggregate.GetResult(w.Accumulator), w.Count, WindowFiring.Early, w.Firings));
                    }
                }
            }

            return;
        }

        foreach (var ((key, start), meta) in _windows)
        {
            if (!meta.Fired && LatestVersion(key, start, start + _sliding!.Size) > meta.EmittedVersion)
            {
                Emit(key, start, meta, WindowFiring.Early, output);
            }
        }
    }

    private bool IsLate(long end, long watermark) => watermark != long.MinValue && end - 1 + _lateness <= watermark;

    private static bool IsDue(long end, long watermark) => watermark != long.MinValue && watermark >= end - 1;

    // ---- tumbling and sliding: slices ----------------------------------------------------------------------------
    private bool AddToSlices(TKey key, long t, T item, long watermark, List<WindowResult<TKey, TResult>> output)
    {
        var a = _sliding!;
        var lastStart = a.LastStart(t);
        if (IsLate(lastStart + a.Size, watermark))
        {
            return false; // every window holding t is late
        }

        var version = ++_version;
        var paneStart = a.PaneStart(t);
        if (!_slices.TryGetValue((key, paneStart), out var slice))
        {
            // The aggregate runs first: if it throws, no empty slice (and no window of it) is left behind.
            slice = new Slice(_aggregate.Add(_aggregate.Create(), item));
            _slices.Add((key, paneStart), slice);
            RegisterSliceTimers(key, paneStart);
            RegisterWindows(key, paneStart, watermark);
        }
        else
        {
            slice.Accumulator = _aggregate.Add(slice.Accumulator, item);
        }

        slice.Count++;
        slice.Version = version;
        Touch(WindowStateFormat.SliceEntry, key, paneStart);
        if (_blocks is not null)
        {
            var blockStart = SlidingAssigner.FloorTo(paneStart, _blockSpan);
            if (!_blocks.TryGetValue((key, blockStart), out var block))
            {
                block = new Slice(_aggregate.Create());
                _blocks.Add((key, blockStart), block);

                // A block is needed until the last window holding its last slice is purged.
                var lastEnd = a.LastStart(blockStart + _blockSpan - a.Pane) + a.Size;
                _timers.Enqueue(new Timer(key, blockStart, lastEnd, Purge: true, Slice: true, Block: true), lastEnd - 1 + _lateness, 3);
            }

            block.Accumulator = _aggregate.Add(block.Accumulator, item);
            block.Count++;
            block.Version = version;
            Touch(WindowStateFormat.BlockEntry, key, blockStart);
        }

        // Windows are registered per slice, not per event. Only the windows that are already due (the earliest ones
        // holding t, and only for an event behind the watermark) need work now: they fire again at once.
        if (watermark != long.MinValue)
        {
            for (var start = a.FirstStart(t); start <= lastStart && IsDue(start + a.Size, watermark); start += a.Slide)
            {
                if (!IsLate(start + a.Size, watermark) && _windows.TryGetValue((key, start), out var meta))
                {
                    meta.Fired = true;
                    Emit(key, start, meta, meta.Firings == 0 ? WindowFiring.OnTime : WindowFiring.Late, output);
                }
            }
        }

        return true;
    }

    /// <summary>A new slice: the windows holding it that are not late get their state and timers, once.</summary>
    private void RegisterWindows(TKey key, long paneStart, long watermark)
    {
        var a = _sliding!;
        var first = a.FirstStart(paneStart);
        var last = a.LastStart(paneStart);

        // In-order input: every window that also holds the key's latest slice so far exists already (or is late), so
        // only the windows starting after that slice are new — one, typically, instead of size/slide lookups.
        ref var latest = ref CollectionsMarshal.GetValueRefOrAddDefault(_latestSlice!, key, out var seen);
        var checkExisting = seen && paneStart < latest;
        if (seen && paneStart > latest)
        {
            first = Math.Max(first, latest + 1);
            first = SlidingAssigner.FloorTo(first - 1, a.Slide) + a.Slide;
        }

        if (!seen || paneStart > latest)
        {
            latest = paneStart;
        }

        for (var start = first; start <= last; start += a.Slide)
        {
            var end = start + a.Size;
            if (IsLate(end, watermark) || (checkExisting && _windows.ContainsKey((key, start))))
            {
                continue;
            }

            _windows.Add((key, start), new WindowMeta());
            Touch(WindowStateFormat.WindowEntry, key, start);
            ScheduleWindow(key, start, end, fired: IsDue(end, watermark));
        }
    }

    /// <summary>A window's timers: its firing (unless it is already due or fired) and its purge.</summary>
    private void ScheduleWindow(TKey key, long start, long end, bool fired)
    {
        if (fired)
        {
            _timers.Enqueue(new Timer(key, start, end, Purge: true), end - 1 + _lateness, 1);
        }
        else if (_lateness == 0)
        {
            // Fire and purge fall on the same watermark: one timer does both.
            _timers.Enqueue(new Timer(key, start, end, Purge: false, AlsoPurge: true), end - 1, 0);
        }
        else
        {
            _timers.Enqueue(new Timer(key, start, end, Purge: false), end - 1, 0);
            _timers.Enqueue(new Timer(key, start, end, Purge: true), end - 1 + _lateness, 1);
        }
    }

    private void RegisterSliceTimers(TKey key, long paneStart)
    {
        // A slice is needed until the last window holding it is purged.
        var a = _sliding!;
        var lastWindowEnd = a.LastStart(paneStart) + a.Size;
        _timers.Enqueue(new Timer(key, paneStart, lastWindowEnd, Purge: true, Slice: true), lastWindowEnd - 1 + _lateness, 2);
    }

    private void FireOnTime(Timer timer, List<WindowResult<TKey, TResult>> output)
    {
        if (_windows.TryGetValue((timer.Key, timer.Start), out var meta) && !meta.Fired)
        {
            meta.Fired = true;
            Emit(timer.Key, timer.Start, meta, _onTime, output);
        }
    }

    private void Emit(TKey key, long start, WindowMeta meta, WindowFiring firing, List<WindowResult<TKey, TResult>> output)
    {
        var end = start + _sliding!.Size;
        var accumulator = _aggregate.Create();
        long count = 0;
        long version = 0;
        for (var at = start; at < end;)
        {
            var slice = Next(key, ref at, end);
            if (slice is not null)
            {
                accumulator = _aggregate.Merge(accumulator, slice.Accumulator);
                count += slice.Count;
                version = Math.Max(version, slice.Version);
            }
        }

        meta.Firings++;
        meta.EmittedVersion = version;
        Touch(WindowStateFormat.WindowEntry, key, start);
        output.Add(new WindowResult<TKey, TResult>(key, start, end, _aggregate.GetResult(accumulator), count, firing, meta.Firings));
    }

    /// <summary>
    /// The accumulator at <paramref name="at"/> covering as much of [at, end) as one accumulator can — a whole block
    /// in the middle of a window, a single slice at its edges — and moves <paramref name="at"/> past it.
    /// </summary>
    private Slice? Next(TKey key, ref long at, long end)
    {
        Slice? found;
        if (_blocks is not null && at + _blockSpan <= end && SlidingAssigner.FloorTo(at, _blockSpan) == at)
        {
            _blocks.TryGetValue((key, at), out found);
            at += _blockSpan;
            return found;
        }

        _slices.TryGetValue((key, at), out found);
        at += _sliding!.Pane;
        return found;
    }

    private long LatestVersion(TKey key, long start, long end)
    {
        long version = 0;
        for (var at = start; at < end;)
        {
            if (Next(key, ref at, end) is { } slice)
            {
                version = Math.Max(version, slice.Version);
            }
        }

        return version;
    }

    private void Purge(Timer timer)
    {
        if (timer.Block)
        {
            _blocks!.Remove((timer.Key, timer.Start));
            Touch(WindowStateFormat.BlockEntry, timer.Key, timer.Start);
            return;
        }

        if (timer.Slice)
        {
            _slices.Remove((timer.Key, timer.Start));
            Touch(WindowStateFormat.SliceEntry, timer.Key, timer.Start);
            if (_latestSlice!.TryGetValue(timer.Key, out var latest) && latest == timer.Start)
            {
                // The key's newest slice is gone, so all of its state is: forget the key (memory stays bounded).
                _latestSlice.Remove(timer.Key);
            }

            return;
        }

        _windows.Remove((timer.Key, timer.Start));
        Touch(WindowStateFormat.WindowEntry, timer.Key, timer.Start);
    }

    // ---- sessions ------------------------------------------------------------------------------------------------
    private bool AddToSession(TKey key, long t, T item, long watermark, List<WindowResult<TKey, TResult>> output)
    {
        var gap = _session!.Gap;
        long start = t, end = t + gap;
        if (!_sessions.TryGetValue(key, out var list))
        {
            list = [];
            _sessions.Add(key, list);
        }

        // Merge transitively with every window it touches (a.start <= b.end && a.end >= b.start). The list is kept
        // sorted and non-overlapping, so the windows touched form one run.
        var first = -1;
        var last = -1;
        for (var i = 0; i < list.Count; i++)
        {
            var w = list[i];
            if (w.Start <= end && w.End >= start)
            {
                if (first < 0)
                {
                    first = i;
                }

                last = i;
                start = Math.Min(start, w.Start);
                end = Math.Max(end, w.End);
            }
        }

        if (IsLate(end, watermark))
        {
            if (list.Count == 0)
            {
                _sessions.Remove(key);
            }

            return false;
        }

        SessionWindow merged;
        if (first < 0)
        {
            // The aggregate runs first: if it throws, no empty session is left behind.
            merged = new SessionWindow(start, end, _aggregate.Add(_aggregate.Create(), item));
            var at = 0;
            while (at < list.Count && list[at].Start <= start)
            {
                at++;
            }

            list.Insert(at, merged);
        }
        else
        {
            // The aggregate runs first: if it throws, the sessions the event touched stay as they were.
            merged = list[first];
            merged.Accumulator = _aggregate.Add(merged.Accumulator, item);
            for (var i = first; i <= last; i++)
            {
                Touch(WindowStateFormat.SessionEntry, key, list[i].Start); // merged away or moved: written again or removed
            }

            for (var i = first + 1; i <= last; i++)
            {
                var other = list[i];
                merged.Accumulator = _aggregate.Merge(merged.Accumulator, other.Accumulator);
                merged.Count += other.Count;
                merged.Firings = Math.Max(merged.Firings, other.Firings);
                merged.Fired |= other.Fired;
                other.Removed = true;
            }

            list.RemoveRange(first + 1, last - first);
            var grew = merged.Start != start || merged.End != end;
            merged.Start = start;
            merged.End = end;
            if (grew)
            {
                // A different window now: it fires for its own end (the old timers find nothing and are ignored).
                merged.Fired = false;
            }
        }

        merged.Count++;
        merged.Dirty = true;
        Touch(WindowStateFormat.SessionEntry, key, start);
        if (IsDue(end, watermark))
        {
            merged.Fired = true;
            merged.Dirty = false;
            merged.Firings++;
            output.Add(new WindowResult<TKey, TResult>(key, start, end, _aggregate.GetResult(merged.Accumulator), merged.Count, merged.Firings == 1 ? WindowFiring.OnTime : WindowFiring.Late, merged.Firings));
        }

        Schedule(key, merged);
        return true;
    }

    /// <summary>
    /// Sessions keep one live timer each, for the next thing due (their firing, then their purge). A session that grows
    /// needs a later time, so its timer, when it pops, just moves on; only a need earlier than the timer queues a new one.
    /// </summary>
    private void Schedule(TKey key, SessionWindow session)
    {
        var due = session.Fired ? session.End - 1 + _lateness : session.End - 1;
        if (due < session.ScheduledAt)
        {
            session.ScheduledAt = due;
            session.ScheduledSeq = ++_version;
            _sessionTimers.Enqueue(new Timer(key, session.Start, session.End, Purge: false, Session: session, Seq: session.ScheduledSeq), due);
        }
    }

    private void OnSessionTimer(Timer timer, List<WindowResult<TKey, TResult>> output)
    {
        var session = timer.Session!;
        if (session.Removed || timer.Seq != session.ScheduledSeq)
        {
            return; // merged into another session, purged, or superseded by an earlier timer
        }

        session.ScheduledAt = long.MaxValue;
        if (!session.Fired)
        {
            if (!IsDue(session.End, Watermark))
            {
                Schedule(timer.Key, session);
                return;
            }

            session.Fired = true;
            session.Dirty = false;
            session.Firings++;
            Touch(WindowStateFormat.SessionEntry, timer.Key, session.Start);
            output.Add(new WindowResult<TKey, TResult>(timer.Key, session.Start, session.End, _aggregate.GetResult(session.Accumulator), session.Count, _onTime, session.Firings));
        }

        if (!IsLate(session.End, Watermark))
        {
            Schedule(timer.Key, session);
            return;
        }

        session.Removed = true;
        Touch(WindowStateFormat.SessionEntry, timer.Key, session.Start);
        if (_sessions.TryGetValue(timer.Key, out var list))
        {
            list.Remove(session);
            if (list.Count == 0)
            {
                _sessions.Remove(timer.Key);
            }
        }
    }

    private readonly record struct Timer(TKey Key, long Start, long End, bool Purge, bool Slice = false, bool Block = false, bool AlsoPurge = false, SessionWindow? Session = null, long Seq = 0);

    private sealed class Slice(TAcc accumulator)
    {
        public TAcc Accumulator = accumulator;
        public long Count;
        public long Version;
    }

    private sealed class WindowMeta
    {
        public int Firings;
        public bool Fired;
        public long EmittedVersion;
    }

    private sealed class SessionWindow(long start, long end, TAcc accumulator)
    {
        public long Start = start;
        public long End = end;
        public TAcc Accumulator = accumulator;
        public long Count;
        public int Firings;
        public bool Fired;
        public bool Dirty;
        public bool Removed;
        public long ScheduledAt = long.MaxValue;
        public long ScheduledSeq;
    }

    private sealed class PairComparer(IEqualityComparer<TKey> keys) : IEqualityComparer<(TKey Key, long Start)>
    {
        public bool Equals((TKey Key, long Start) x, (TKey Key, long Start) y) => x.Start == y.Start && keys.Equals(x.Key, y.Key);

        public int GetHashCode((TKey Key, long Start) obj) => HashCode.Combine(keys.GetHashCode(obj.Key), obj.Start);
    }
}
