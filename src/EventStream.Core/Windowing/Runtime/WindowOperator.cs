using EventStream.Metrics;
using EventStream.Windowing.State;
using EventStream.Retry;
using System.Buffers;
using System.Diagnostics;
using System.Text.Json;

namespace EventStream.Windowing;

/// <summary>
/// A window stage in its segment's loop: feeds the <see cref="WindowEngine{T, TKey, TAcc, TResult}"/>, passes its results on,
/// sends late events to the late output, and on processing-time ticks fires early results, advances an idle
/// watermark or drives processing-time windows.
/// <para>
/// Run partitioned (the pipeline has an <see cref="IWindowPartitionHost"/>), it keeps one engine per partition the host
/// lets in, judges every event against the watermark of the whole input (the largest event time of all partitions, so a
/// worker decides what is late exactly as one process would), hands results and late events to the host for the
/// partition's next commit instead of passing them on, and fires nothing when the pipeline completes: a stop commits
/// and hands over, and only the host's <see cref="IPartitionedWindow.FireAll"/> ends the windows.
/// </para>
/// </summary>
[DebuggerDisplay("Window {Stage.Name,nq}: watermark {_engine.Watermark}, open windows {_engine.OpenWindows}")]
internal sealed class WindowOperator<T, TKey, TAcc, TResult> : StageOperator<T, WindowResult<TKey, TResult>>, IPartitionedWindow
    where TKey : notnull
{
    private readonly WindowEngine<T, TKey, TAcc, TResult> _engine;
    private readonly IAggregator<T, TAcc, TResult> _aggregate;
    private readonly IWindowPartitionHost? _host;
    private readonly WindowEngine<T, TKey, TAcc, TResult>?[] _partitions = [];
    private readonly WindowStateCodecs<TKey, TAcc>? _codecs;
    private readonly ArrayBufferWriter<byte> _keyBytes = new();
    private readonly long _outOfOrderness;
    private long _maxTimestamp = long.MinValue;
    private readonly WindowOptions<T, TKey> _options;
    private readonly Func<T, TKey> _key;
    private readonly Func<T, long>? _timestamp;
    private readonly List<WindowResult<TKey, TResult>> _output = [];
    private readonly TimeProvider _time;
    private readonly ITimer? _ticker;
    private readonly long _idleTimeoutMs;
    private long _lastArrival;
    private long _lastEarlyFiring;
    private int _tickQueued;
    private bool _arrivedSinceTick;

    public WindowOperator(StageRuntime stage, Operator<WindowResult<TKey, TResult>> next, WindowOptions<T, TKey> options, IAggregator<T, TAcc, TResult> aggregate)
        : base(stage, next)
    {
        _options = options;
        _key = options.Key!;
        _timestamp = options.Time == TimeCharacteristic.ProcessingTime ? null : options.Timestamp; // processing time: the clock stamps each event
        _time = stage.Pipeline.Time;
        _aggregate = aggregate;
        _outOfOrderness = options.Time == TimeCharacteristic.ProcessingTime ? 0 : (long)options.OutOfOrderness.TotalMilliseconds;
        _engine = NewEngine(null);
        _host = stage.Pipeline.Partitioning;
        if (_host is not null)
        {
            if (options.Time == TimeCharacteristic.ProcessingTime)
            {
                throw new PipelineConfigurationException(stage.Pipeline.Name, [$"stage '{stage.Name}' (window) uses processing time; partitioned execution runs event-time windows only (processing time differs between workers and restarts)."]);
            }

            _codecs = Codecs(stage.Pipeline.Name, stage.Name, _host.Json, aggregate);
            _partitions = new WindowEngine<T, TKey, TAcc, TResult>?[_host.Partitions];
            _host.Attach(this);
        }
        _idleTimeoutMs = options.IdleTimeout is { } idle ? (long)idle.TotalMilliseconds : long.MaxValue;
        _lastArrival = NowMs();
        _lastEarlyFiring = _lastArrival;

        var period = TickPeriod(options);
        if (period is { } p)
        {
            _ticker = _time.CreateTimer(static s => ((WindowOperator<T, TKey, TAcc, TResult>)s!).Tick(), this, p, p);
        }
    }

    public override long? Watermark => _host is null ? _engine.Watermark : StreamWatermark;

    public IReadOnlyDictionary<string, string> Definition => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["stage"] = Stage.Name,
        ["window"] = _options.Assigner!.ToString(),
        ["outOfOrderness"] = $"{_outOfOrderness} ms",
        ["allowedLateness"] = $"{(long)_options.AllowedLateness.TotalMilliseconds} ms",
        ["aggregate"] = _aggregate.GetType().Name,
        ["key"] = typeof(TKey).FullName ?? typeof(TKey).Name,
        ["accumulator"] = typeof(TAcc).FullName ?? typeof(TAcc).Name,
        ["result"] = typeof(TResult).FullName ?? typeof(TResult).Name,
        ["stateFormat"] = WindowStateFormat.Version,
    };

    public long StreamMaxTimestamp
    {
        get => _maxTimestamp;
        set => _maxTimestamp = value;
    }

    public string StageName => Stage.Name;

    public int? PartitionOfEvent(object? item)
    {
        if (item is not T typed || _host is null)
        {
            return null;
        }

        try
        {
            var key = _key(typed);
            if (key is null)
            {
                return null;
            }

            // Not the loop's buffer: the dead-letter recorder may call this between events.
            var bytes = new ArrayBufferWriter<byte>();
            _codecs!.Key.Write(key, bytes);
            return _host.PartitionOf(bytes.WrittenSpan);
        }
#pragma warning disable CA1031 // A key that cannot be read has no partition: the caller routes by the event instead.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    /// <summary>The watermark of the whole input: what every partition's engine is brought to.</summary>
    private long StreamWatermark => _maxTimestamp == long.MinValue ? long.MinValue : _maxTimestamp - _outOfOrderness - 1;

    public override ValueTask ProcessAsync(T item, RetryState? state)
    {
        TKey key;
        long timestamp;
        try
        {
            key = _key(item) ?? throw new StageResultNullException($"Stage '{Stage.Name}': the key selector returned null.");
            timestamp = _timestamp is null ? NowMs() : _timestamp(item);
            if (timestamp is < WindowAssigner.MinTimestamp or > WindowAssigner.MaxTimestamp)
            {
                throw new ArgumentException($"Stage '{Stage.Name}': the timestamp {timestamp} is outside the supported range of ±2^62 ms.");
            }
        }
#pragma warning disable CA1031 // User code: any failure is retried or dead-lettered.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Stage.FailAsync(this, item, ex, state);
        }

        _arrivedSinceTick = true;
        _output.Clear();
        var engine = _engine;
        var partition = -1;
        if (_host is not null)
        {
            // Every event moves event time, whoever owns it: each worker then has the watermark one process would have.
            _keyBytes.ResetWrittenCount();
            _codecs!.Key.Write(key, _keyBytes);
            partition = _host.PartitionOf(_keyBytes.WrittenSpan);
            var before = StreamWatermark;
            if (timestamp > _maxTimestamp)
            {
                _maxTimestamp = timestamp;
            }

            if (!_host.Accepts(partition))
            {
                Counts.Add(PipelineCount.OtherPartitions);
                return default;
            }

            engine = _partitions[partition] ??= NewEngine(_codecs);
            engine.AdvanceTo(before, _output); // the event is judged against the watermark as it was before it
            Hand(partition);
        }

        bool added;
        try
        {
            added = engine.Add(key, timestamp, item, _output);
        }
        catch (AggregateFailedException ex)
        {
            // The aggregate threw on this event (a selector meeting a null, say): retried or dead-lettered like a failing
            // handler; the window state is as before it.
            _output.Clear();
            return Stage.FailAsync(this, item, ex.InnerException!, state);
        }

        if (timestamp > _maxTimestamp)
        {
            _maxTimestamp = timestamp;
        }

        if (!added)
        {
            return LateAsync(item, timestamp, state, partition);
        }

        state?.Ticket?.Succeeded();
        Counts.Add(PipelineCount.Windowed);
        _host?.OnWindowed(partition);
        return EmitAsync(partition);
    }

    public override async ValueTask CompleteAsync()
    {
        _ticker?.Dispose();
        if (_host is null)
        {
            _output.Clear();
            if (Stage.Pipeline.Stopping)
            {
                _engine.Stop(_output);
            }
            else
            {
                _engine.Complete(_output);
            }

            await EmitAsync(-1).ConfigureAwait(false);
        }

        if (Next is not null)
        {
            await Next.CompleteAsync().ConfigureAwait(false);
        }
    }

    public Task InvokeAsync(Action action, CancellationToken cancellationToken)
    {
        var work = new InvokeWorkItem(Stage.Name, action, _time.GetTimestamp());
        Stage.Segment.Inbox.Post(work);
        return work.Done.Task.WaitAsync(cancellationToken);
    }

    public IRestoringPartition BeginRestore(WindowClock clock)
    {
        var engine = NewEngine(_codecs ?? throw new InvalidOperationException($"Stage '{Stage.Name}' does not run partitioned."));
        engine.Restore(clock);
        return new RestoringPartition(engine);
    }

    public void Adopt(int partition, IRestoringPartition restored) => _partitions[partition] = ((RestoringPartition)restored).Engine;

    public WindowClock Export(int partition, IWindowStateWriter writer)
    {
        if (_partitions[partition] is not { } engine)
        {
            return WindowClock.Empty;
        }

        _output.Clear();
        engine.AdvanceTo(StreamWatermark, _output);
        Hand(partition);
        engine.ExportChanges(writer);
        return engine.Clock;
    }

    public void FireAll(int partition)
    {
        if (_partitions[partition] is { } engine)
        {
            _output.Clear();
            engine.Complete(_output);
            Hand(partition);
        }
    }

    public void Drop(int partition) => _partitions[partition] = null;

    public override void Stop() => _ticker?.Dispose();

    public override ValueTask FlushAsync()
    {
        if (_arrivedSinceTick)
        {
            // The clock is read once per batch, not per event: idleness is measured from the last batch with events.
            _arrivedSinceTick = false;
            _lastArrival = NowMs();
        }

        return Next is null ? default : Next.FlushAsync();
    }

    /// <summary>A processing-time tick, run in the segment's loop.</summary>
    internal ValueTask OnTickAsync()
    {
        Volatile.Write(ref _tickQueued, 0);
        var now = NowMs();

        var idle = _options.Time == TimeCharacteristic.EventTime && now - _lastArrival >= _idleTimeoutMs && _maxTimestamp != long.MinValue;
        var early = _options.EarlyFiringInterval is { } interval && now - _lastEarlyFiring >= (long)interval.TotalMilliseconds;
        if (early)
        {
            _lastEarlyFiring = now;
        }

        if (_host is not null)
        {
            // Partitioned: event time only (processing time is refused at build); each partition the reader feeds, in
            // turn. One taken over but not let in yet is behind the reader: its clock must not run ahead of its entries.
            for (var p = 0; p < _partitions.Length; p++)
            {
                if (_partitions[p] is { } engine && _host.Accepts(p))
                {
                    _output.Clear();
                    Tick(engine, now, idle, early);
                    Hand(p);
                }
            }

            return default;
        }

        _output.Clear();
        Tick(_engine, now, idle, early);
        return EmitAsync(-1);
    }

    private void Tick(WindowEngine<T, TKey, TAcc, TResult> engine, long now, bool idle, bool early)
    {
        if (_options.Time == TimeCharacteristic.ProcessingTime)
        {
            engine.AdvanceTo(now - 1, _output);
        }
        else if (idle)
        {
            // Quiet input: let event time flow with processing time since the last event.
            engine.AdvanceTo(_maxTimestamp - _outOfOrderness - 1 + (now - _lastArrival), _output);
        }

        if (early)
        {
            engine.FireEarly(_output);
        }
    }

    private static TimeSpan? TickPeriod(WindowOptions<T, TKey> options)
    {
        TimeSpan? period = null;
        if (options.EarlyFiringInterval is { } early)
        {
            period = early;
        }

        if (options.IdleTimeout is { } idle)
        {
            var check = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, idle.Ticks / 4));
            period = period is null || check < period ? check : period;
        }

        if (options.Time == TimeCharacteristic.ProcessingTime)
        {
            var check = TimeSpan.FromMilliseconds(100);
            period = period is null || check < period ? check : period;
        }

        return period;
    }

    private void Tick()
    {
        if (Interlocked.Exchange(ref _tickQueued, 1) == 0)
        {
            Stage.Segment.Inbox.Post(new TickWorkItem(Stage.Name, this, _time.GetTimestamp()));
        }
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private WindowEngine<T, TKey, TAcc, TResult> NewEngine(WindowStateCodecs<TKey, TAcc>? codecs) =>
        new(_options.Assigner!, _aggregate, _outOfOrderness, (long)_options.AllowedLateness.TotalMilliseconds, _options.KeyComparer, codecs);

    /// <summary>
    /// The codecs of a partitioned stage's state, checked now, at build time: an accumulator that does not read back as
    /// it was written would restore wrong numbers after a takeover.
    /// </summary>
    private static WindowStateCodecs<TKey, TAcc> Codecs(string pipeline, string stage, JsonSerializerOptions json, IAggregator<T, TAcc, TResult> aggregate)
    {
        var codecs = new WindowStateCodecs<TKey, TAcc>(StateCodec.For<TKey>(json), StateCodec.For<TAcc>(json));
        try
        {
            var buffer = new ArrayBufferWriter<byte>();
            var empty = aggregate.Create();
            codecs.Accumulator.Write(empty, buffer);
            var back = codecs.Accumulator.Read(buffer.WrittenSpan);
            var again = new ArrayBufferWriter<byte>();
            codecs.Accumulator.Write(back, again);
            if (!buffer.WrittenSpan.SequenceEqual(again.WrittenSpan))
            {
                throw new NotSupportedException($"it reads back as something else ({buffer.WrittenCount} bytes written, {again.WrittenCount} after a round trip)");
            }
        }
#pragma warning disable CA1031 // Any failure of the round trip is the configuration problem reported.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            throw new PipelineConfigurationException(pipeline, [$"stage '{stage}' runs partitioned, so its state must be serialised, but its accumulator type {typeof(TAcc).Name} cannot be: {ex.Message}. Give the accumulator public properties System.Text.Json can write and read back (or a constructor taking them)."]);
        }

        return codecs;
    }

    /// <summary>Hands the firings in the output to the host, as JSON, for the partition's next commit.</summary>
    private void Hand(int partition)
    {
        foreach (var result in _output)
        {
            _host!.OnResult(partition, JsonSerializer.Serialize(result, _host.Json));
        }

        _output.Clear();
    }

    private ValueTask EmitAsync(int partition)
    {
        if (_host is not null)
        {
            Hand(partition);
            return default;
        }

        var results = _output;
        if (results.Count == 0)
        {
            return default;
        }

        Counts.Add(PipelineCount.WindowResults, results.Count);
        for (var i = 0; i < results.Count; i++)
        {
            var pending = Next.ProcessAsync(results[i], null);
            if (!pending.IsCompletedSuccessfully)
            {
                return EmitRestAsync(pending, [.. results], i + 1);
            }
        }

        return default;
    }

    private async ValueTask EmitRestAsync(ValueTask pending, WindowResult<TKey, TResult>[] results, int from)
    {
        await pending.ConfigureAwait(false);
        for (var i = from; i < results.Length; i++)
        {
            await Next.ProcessAsync(results[i], null).ConfigureAwait(false);
        }
    }

    private async ValueTask LateAsync(T item, long timestamp, RetryState? state, int partition)
    {
        Counts.Add(PipelineCount.Late);
        var watermark = partition < 0 ? _engine.Watermark : _partitions[partition]!.Watermark;
        var message = $"Late event: its timestamp {timestamp} is in no window still open (watermark {watermark}, allowed lateness {_options.AllowedLateness.TotalMilliseconds:0} ms).";
        if (_host is not null)
        {
            // The partition's late stream, committed with its state, is the late output of a partitioned stage.
            state?.Ticket?.Succeeded();
            _host.OnLate(partition, JsonSerializer.Serialize(item, _host.Json), timestamp, message);
            return;
        }

        if (state?.Ticket is null && _options.LateOutput is { } late)
        {
            try
            {
                await late(item, Stage.Pipeline.Token).ConfigureAwait(false);
                return;
            }
#pragma warning disable CA1031 // A failing late output must not lose the event: it goes to the dead-letter store.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                message += $" The late output failed: {ex.GetType().FullName}: {ex.Message}";
            }
        }

        await Stage.Pipeline.DeadLetters.LateAsync(Stage.Name, item, message, state?.Ticket, Stage.Segment.CurrentTrace).ConfigureAwait(false);
    }

    private sealed class RestoringPartition(WindowEngine<T, TKey, TAcc, TResult> engine) : IRestoringPartition
    {
        public WindowEngine<T, TKey, TAcc, TResult> Engine { get; } = engine;

        public void RestoreEntry(ReadOnlySpan<byte> field, ReadOnlySpan<byte> value) => Engine.RestoreEntry(field, value);
    }

    /// <summary>The host's action, run in the segment's loop; the segment does not wait for it before it finishes.</summary>
    private sealed class InvokeWorkItem(string stage, Action action, long at) : WorkItem(stage, at)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override object? Item => null;

        public override int AttemptsSoFar => 0;

        public override bool IsExpected => false;

        public override ValueTask RunAsync()
        {
            try
            {
                action();
                Done.TrySetResult();
            }
#pragma warning disable CA1031 // The host's action fails the host's call, not the stage.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Done.TrySetException(ex);
            }

            return default;
        }
    }

    /// <summary>A processing-time tick, run in the segment's loop; the segment does not wait for ticks before it finishes.</summary>
    private sealed class TickWorkItem(string stage, WindowOperator<T, TKey, TAcc, TResult> op, long at) : WorkItem(stage, at)
    {
        public override object? Item => null;

        public override int AttemptsSoFar => 0;

        public override bool IsExpected => false;

        public override ValueTask RunAsync() => op.OnTickAsync();
    }
}
