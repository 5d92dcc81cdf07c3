using EventStream.Windowing.State;
using System.Buffers;
using static EventStream.Windowing.State.WindowStateFormat;

namespace EventStream.Windowing;

/// <summary>
/// The engine's state as entries, for a commit and a restore in another process. With codecs the engine remembers
/// which entries each change touched (slices, blocks, window firing records, sessions); <see cref="ExportChanges"/>
/// writes each of them as it is now, or as removed, so a commit carries the delta since the last one, not all of the
/// state. The timers are not state: <see cref="RestoreEntry"/> derives them from the entries and the watermark.
/// </summary>
internal sealed partial class WindowEngine<T, TKey, TAcc, TResult>
{
    private readonly WindowStateCodecs<TKey, TAcc>? _codecs;
    private readonly HashSet<StateRef>? _changed;
    private readonly ArrayBufferWriter<byte> _fieldBuffer = new();
    private readonly ArrayBufferWriter<byte> _valueBuffer = new();
    private readonly ArrayBufferWriter<byte> _recordBuffer = new();

    /// <summary>Gets the engine-wide part of the state.</summary>
    public WindowClock Clock => new(Watermark, MaxTimestamp, _version);

    /// <summary>Gets how many entries changed since the last <see cref="ExportChanges"/>.</summary>
    public int ChangedEntries => _changed?.Count ?? 0;

    /// <summary>Writes every entry changed since the last call (as it is now, or as removed) and forgets the changes.</summary>
    /// <param name="writer">Receives the entries.</param>
    public void ExportChanges(IWindowStateWriter writer)
    {
        var changed = _changed ?? throw new InvalidOperationException("This window engine was created without state codecs: it does not track its changes.");
        foreach (var entry in changed)
        {
            if (!TryExport(entry, writer))
            {
                writer.Remove(Field(entry.Kind, entry.Key, entry.Start));
            }
        }

        changed.Clear();
    }

    /// <summary>Writes every entry of the state (a full snapshot) and forgets the changes.</summary>
    /// <param name="writer">Receives the entries.</param>
    public void ExportAll(IWindowStateWriter writer)
    {
        _ = _codecs ?? throw new InvalidOperationException("This window engine was created without state codecs.");
        var groups = new HashSet<StateRef>(_changed?.Comparer ?? new StateRefComparer(EqualityComparer<TKey>.Default));
        foreach (var (key, start) in _slices.Keys)
        {
            if (groups.Add(new StateRef(SliceEntry, key, GroupStart(SliceEntry, start))))
            {
                ExportSliceGroup(key, GroupStart(SliceEntry, start), writer);
            }
        }

        foreach (var ((key, start), block) in _blocks ?? [])
        {
            ExportSlice(BlockEntry, key, start, block, writer);
        }

        foreach (var (key, start) in _windows.Keys)
        {
            if (groups.Add(new StateRef(WindowEntry, key, GroupStart(WindowEntry, start))))
            {
                ExportWindowGroup(key, GroupStart(WindowEntry, start), writer);
            }
        }

        foreach (var (key, list) in _sessions)
        {
            foreach (var session in list)
            {
                ExportSession(key, session, writer);
            }
        }

        _changed?.Clear();
    }

    /// <summary>Starts a restore: the engine, which must hold no state yet, takes the clock of the state it restores.</summary>
    /// <param name="clock">The clock that was committed with the entries.</param>
    public void Restore(WindowClock clock)
    {
        _ = _codecs ?? throw new InvalidOperationException("This window engine was created without state codecs.");
        if (_slices.Count + _windows.Count + _sessions.Count + (_blocks?.Count ?? 0) != 0 || MaxTimestamp != long.MinValue)
        {
            throw new InvalidOperationException("A window engine restores into an empty engine only.");
        }

        Watermark = clock.Watermark;
        MaxTimestamp = clock.MaxTimestamp;
        _version = clock.Version;
    }

    /// <summary>Restores one entry (after <see cref="Restore"/>), with the timers it needs under the restored watermark.</summary>
    /// <param name="field">The entry's field, as exported.</param>
    /// <param name="value">The entry's value, as exported.</param>
    public void RestoreEntry(ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
    {
        var codecs = _codecs ?? throw new InvalidOperationException("This window engine was created without state codecs.");
        var (kind, start) = ReadFieldHeader(field);
        var key = codecs.Key.Read(field[FieldHeader..]);
        switch (kind)
        {
            case SliceEntry when _sliding is not null:
                {
                    // A group: the key's slices among GroupSize consecutive panes, each as its index, then its record.
                    ref var latest = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_latestSlice!, key, out var seen);
                    while (!value.IsEmpty)
                    {
                        var paneStart = start + (GroupIndex(ref value) * _sliding.Pane);
                        var count = (long)ReadVarint(ref value);
                        var version = (long)ReadVarint(ref value);
                        var length = (int)ReadVarint(ref value);
                        if (length > value.Length)
                        {
                            throw new FormatException("A window state value ends inside an accumulator.");
                        }

                        _slices[(key, paneStart)] = new Slice(codecs.Accumulator.Read(value[..length])) { Count = count, Version = version };
                        value = value[length..];
                        RegisterSliceTimers(key, paneStart);
                        if (!seen || paneStart > latest)
                        {
                            latest = paneStart;
                            seen = true;
                        }
                    }

                    break;
                }

            case BlockEntry when _blocks is not null:
                {
                    _blocks[(key, start)] = ReadSlice(value);
                    var a = _sliding!;
                    var lastEnd = a.LastStart(start + _blockSpan - a.Pane) + a.Size;
                    _timers.Enqueue(new Timer(key, start, lastEnd, Purge: true, Slice: true, Block: true), lastEnd - 1 + _lateness, 3);
                    break;
                }

            case WindowEntry when _sliding is not null:
                {
                    // A group: the key's windows among GroupSize consecutive window starts, each as its index, then its record.
                    while (!value.IsEmpty)
                    {
                        var windowStart = start + (GroupIndex(ref value) * _sliding.Slide);
                        var meta = new WindowMeta
                        {
                            Firings = (int)ReadVarint(ref value),
                            Fired = ReadByte(ref value) != 0,
                            EmittedVersion = (long)ReadVarint(ref value),
                        };
                        _windows[(key, windowStart)] = meta;
                        var end = windowStart + _sliding.Size;
                        ScheduleWindow(key, windowStart, end, fired: meta.Fired || IsDue(end, Watermark));
                    }

                    break;
                }

            case SessionEntry when _session is not null:
                {
                    var end = ReadInt64(ref value);
                    var count = (long)ReadVarint(ref value);
                    var firings = (int)ReadVarint(ref value);
                    var flags = ReadByte(ref value);
                    var session = new SessionWindow(start, end, codecs.Accumulator.Read(value))
                    {
                        Count = count,
                        Firings = firings,
                        Fired = (flags & 1) != 0,
                        Dirty = (flags & 2) != 0,
                    };
                    if (!_sessions.TryGetValue(key, out var list))
                    {
                        list = [];
                        _sessions.Add(key, list);
                    }

                    var at = 0;
                    while (at < list.Count && list[at].Start < start)
                    {
                        at++;
                    }

                    list.Insert(at, session);
                    Schedule(key, session);
                    break;
                }

            default:
                throw new FormatException($"A window state entry of kind '{(char)kind}' does not belong to a {(_session is null ? _sliding!.Kind : "session")} window.");
        }
    }

    /// <summary>
    /// Records that an entry changed. Slices and window records are kept in groups (one entry per key and
    /// <see cref="GroupSize"/> consecutive panes or window starts): a 1,000-slice sliding window is 16 entries per key,
    /// not 2,000, which is what a restore reads and decodes.
    /// </summary>
    private void Touch(byte kind, TKey key, long start) =>
        _changed?.Add(new StateRef(kind, key, kind is SliceEntry or WindowEntry ? GroupStart(kind, start) : start));

    /// <summary>The first pane (slices) or window start (window records) of the group holding <paramref name="start"/>.</summary>
    private long GroupStart(byte kind, long start) => SlidingAssigner.FloorTo(start, (kind == SliceEntry ? _sliding!.Pane : _sliding!.Slide) * GroupSize);

    private static long GroupIndex(ref ReadOnlySpan<byte> value)
    {
        var index = ReadVarint(ref value);
        return index < GroupSize ? (long)index : throw new FormatException($"A window state group holds {GroupSize} records; index {index} is out of it.");
    }

    private bool TryExport(StateRef entry, IWindowStateWriter writer)
    {
        switch (entry.Kind)
        {
            case SliceEntry:
                return ExportSliceGroup(entry.Key, entry.Start, writer);
            case BlockEntry when _blocks!.TryGetValue((entry.Key, entry.Start), out var block):
                ExportSlice(BlockEntry, entry.Key, entry.Start, block, writer);
                return true;
            case WindowEntry:
                return ExportWindowGroup(entry.Key, entry.Start, writer);
            case SessionEntry when _sessions.TryGetValue(entry.Key, out var list):
                foreach (var session in list)
                {
                    if (session.Start == entry.Start)
                    {
                        ExportSession(entry.Key, session, writer);
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    private ReadOnlySpan<byte> Field(byte kind, TKey key, long start)
    {
        _fieldBuffer.ResetWrittenCount();
        WriteFieldHeader(_fieldBuffer, kind, start);
        _codecs!.Key.Write(key, _fieldBuffer);
        return _fieldBuffer.WrittenSpan;
    }

    private void ExportSlice(byte kind, TKey key, long start, Slice slice, IWindowStateWriter writer)
    {
        _valueBuffer.ResetWrittenCount();
        WriteVarint(_valueBuffer, (ulong)slice.Count);
        WriteVarint(_valueBuffer, (ulong)slice.Version);
        _codecs!.Accumulator.Write(slice.Accumulator, _valueBuffer);
        writer.Upsert(Field(kind, key, start), _valueBuffer.WrittenSpan);
    }

    /// <summary>Writes the group of slices starting at <paramref name="groupStart"/>; <see langword="false"/> when it holds none.</summary>
    private bool ExportSliceGroup(TKey key, long groupStart, IWindowStateWriter writer)
    {
        _valueBuffer.ResetWrittenCount();
        var pane = _sliding!.Pane;
        for (var i = 0; i < GroupSize; i++)
        {
            if (_slices.TryGetValue((key, groupStart + (i * pane)), out var slice))
            {
                _recordBuffer.ResetWrittenCount();
                _codecs!.Accumulator.Write(slice.Accumulator, _recordBuffer);
                WriteVarint(_valueBuffer, (ulong)i);
                WriteVarint(_valueBuffer, (ulong)slice.Count);
                WriteVarint(_valueBuffer, (ulong)slice.Version);
                WriteVarint(_valueBuffer, (ulong)_recordBuffer.WrittenCount);
                _valueBuffer.Write(_recordBuffer.WrittenSpan);
            }
        }

        if (_valueBuffer.WrittenCount == 0)
        {
            return false;
        }

        writer.Upsert(Field(SliceEntry, key, groupStart), _valueBuffer.WrittenSpan);
        return true;
    }

    /// <summary>Writes the group of window records starting at <paramref name="groupStart"/>; <see langword="false"/> when it holds none.</summary>
    private bool ExportWindowGroup(TKey key, long groupStart, IWindowStateWriter writer)
    {
        _valueBuffer.ResetWrittenCount();
        var slide = _sliding!.Slide;
        for (var i = 0; i < GroupSize; i++)
        {
            if (_windows.TryGetValue((key, groupStart + (i * slide)), out var meta))
            {
                WriteVarint(_valueBuffer, (ulong)i);
                WriteVarint(_valueBuffer, (ulong)meta.Firings);
                _valueBuffer.GetSpan(1)[0] = meta.Fired ? (byte)1 : (byte)0;
                _valueBuffer.Advance(1);
                WriteVarint(_valueBuffer, (ulong)meta.EmittedVersion);
            }
        }

        if (_valueBuffer.WrittenCount == 0)
        {
            return false;
        }

        writer.Upsert(Field(WindowEntry, key, groupStart), _valueBuffer.WrittenSpan);
        return true;
    }

    private void ExportSession(TKey key, SessionWindow session, IWindowStateWriter writer)
    {
        _valueBuffer.ResetWrittenCount();
        WriteInt64(_valueBuffer, session.End);
        WriteVarint(_valueBuffer, (ulong)session.Count);
        WriteVarint(_valueBuffer, (ulong)session.Firings);
        _valueBuffer.GetSpan(1)[0] = (byte)((session.Fired ? 1 : 0) | (session.Dirty ? 2 : 0));
        _valueBuffer.Advance(1);
        _codecs!.Accumulator.Write(session.Accumulator, _valueBuffer);
        writer.Upsert(Field(SessionEntry, key, session.Start), _valueBuffer.WrittenSpan);
    }

    private Slice ReadSlice(ReadOnlySpan<byte> value)
    {
        var count = (long)ReadVarint(ref value);
        var version = (long)ReadVarint(ref value);
        return new Slice(_codecs!.Accumulator.Read(value)) { Count = count, Version = version };
    }

    /// <summary>An entry of the state: its kind, key and start.</summary>
    private readonly record struct StateRef(byte Kind, TKey Key, long Start);

    private sealed class StateRefComparer(IEqualityComparer<TKey> keys) : IEqualityComparer<StateRef>
    {
        public bool Equals(StateRef x, StateRef y) => x.Start == y.Start && x.Kind == y.Kind && keys.Equals(x.Key, y.Key);

        public int GetHashCode(StateRef obj) => HashCode.Combine(keys.GetHashCode(obj.Key), obj.Start, obj.Kind);
    }
}
