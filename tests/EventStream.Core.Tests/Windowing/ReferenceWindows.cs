
namespace EventStream.Tests.Windowing;

/// <summary>
/// A brute-force model of the window semantics in the README ("The model", event-time windows), written for clarity,
/// not speed: windows hold their raw elements, every check is a linear scan, and values are computed from the elements
/// when a window fires. The engine (slices, timers, accumulators) must produce the same results.
/// </summary>
internal sealed class ReferenceWindows
{
    private readonly string _kind;
    private readonly long _size;
    private readonly long _slide;
    private readonly long _gap;
    private readonly long _ooo;
    private readonly long _lateness;
    private readonly Func<IReadOnlyList<double>, double> _aggregate;
    private readonly List<Win> _windows = [];
    private long _maxTs = long.MinValue;

    public ReferenceWindows(string kind, long size, long slide, long gap, long ooo, long lateness, Func<IReadOnlyList<double>, double> aggregate)
    {
        _kind = kind;
        _size = size;
        _slide = slide;
        _gap = gap;
        _ooo = ooo;
        _lateness = lateness;
        _aggregate = aggregate;
    }

    public long Watermark { get; private set; } = long.MinValue;

    public List<(string Key, long Start, long End, double Value, long Count, WindowFiring Firing, int Number)> Results { get; } = [];

    public List<(string Key, long Ts)> Late { get; } = [];

    public void Add(string key, long ts, double value)
    {
        var before = Watermark;
        if (_kind == "session")
        {
            AddSession(key, ts, value, before);
        }
        else
        {
            AddSliding(key, ts, value, before);
        }

        _maxTs = Math.Max(_maxTs, ts);
        var w = _maxTs - _ooo - 1;
        if (w > Watermark)
        {
            Advance(w);
        }
    }

    public void Complete() => Advance(long.MaxValue);

    private bool IsLate(long end, long w) => w != long.MinValue && end - 1 + _lateness <= w;

    private bool IsDue(long end, long w) => w != long.MinValue && w >= end - 1;

    private void AddSliding(string key, long ts, double value, long before)
    {
        var starts = new List<long>();
        for (var k = FloorDiv(ts - _size, _slide) - 1; k * _slide <= ts; k++)
        {
            var s = k * _slide;
            if (s <= ts && ts < s + _size)
            {
                starts.Add(s);
            }
        }

        var open = starts.Where(s => !IsLate(s + _size, before)).ToList();
        if (open.Count == 0)
        {
            Late.Add((key, ts));
            return;
        }

        foreach (var s in open)
        {
            var win = _windows.FirstOrDefault(x => x.Key == key && x.Start == s);
            if (win is null)
            {
                win = new Win(key, s, s + _size);
                _windows.Add(win);
            }

            win.Values.Add(value);
            if (IsDue(win.End, before))
            {
                Fire(win, win.Firings == 0 ? WindowFiring.OnTime : WindowFiring.Late);
            }
        }
    }

    private void AddSession(string key, long ts, double value, long before)
    {
        long start = ts, end = ts + _gap;
        var merged = new List<Win>();
        bool changed;
        do
        {
            changed = false;
            foreach (var w in _windows.Where(w => w.Key == key && !merged.Contains(w)))
            {
                if (w.Start <= end && w.End >= start)
                {
                    merged.Add(w);
                    start = Math.Min(start, w.Start);
                    end = Math.Max(end, w.End);
                    changed = true;
                }
            }
        }
        while (changed);

        if (IsLate(end, before))
        {
            Late.Add((key, ts));
            return;
        }

        Win target;
        if (merged.Count == 1 && merged[0].Start == start && merged[0].End == end)
        {
            target = merged[0];
        }
        else
        {
            target = new Win(key, start, end) { Firings = merged.Count == 0 ? 0 : merged.Max(m => m.Firings) };
            foreach (var m in merged)
            {
                target.Values.AddRange(m.Values);
                _windows.Remove(m);
            }

            _windows.Add(target);
        }

        target.Values.Add(value);
        if (IsDue(end, before))
        {
            Fire(target, target.Firings == 0 ? WindowFiring.OnTime : WindowFiring.Late);
        }
    }

    private void Advance(long w)
    {
        Watermark = w;
        foreach (var win in _windows.Where(x => !x.Fired && IsDue(x.End, w)).ToList())
        {
            Fire(win, WindowFiring.OnTime);
        }

        _windows.RemoveAll(x => w >= x.End - 1 + _lateness || w == long.MaxValue);
    }

    private void Fire(Win win, WindowFiring firing)
    {
        win.Fired = true;
        win.Firings++;
        Results.Add((win.Key, win.Start, win.End, _aggregate(win.Values), win.Values.Count, firing, win.Firings));
    }

    private static long FloorDiv(long a, long b) => (long)Math.Floor(a / (double)b);

    private sealed class Win(string key, long start, long end)
    {
        public string Key { get; } = key;

        public long Start { get; } = start;

        public long End { get; } = end;

        public List<double> Values { get; } = [];

        public bool Fired { get; set; }

        public int Firings { get; set; }
    }
}
