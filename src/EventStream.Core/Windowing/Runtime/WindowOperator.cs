using System.Diagnostics;
using EventStream.Aggregates;
using EventStream.Metrics;
using EventStream.Retry;

namespace EventStream.Windowing;

/// <summary>
/// A window stage in its segment's loop: feeds the <see cref="WindowEngine{T, TKey, TAcc, TResult}"/>, passes its results on,
/// sends late events to the late output, and on processing-time ticks fires early results, advances an idle
/// watermark or drives processing-time windows.
/// </summary>
[DebuggerDisplay("Window {Stage.Name,nq}: watermark {_engine.Watermark}, open windows {_engine.OpenWindows}")]
internal sealed class WindowOperator<T, TKey, TAcc, TResult> : StageOperator<T, WindowResult<TKey, TResult>>
    where TKey : notnull
{
    private readonly WindowEngine<T, TKey, TAcc, TResult> _engine;
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
        _engine = new WindowEngine<T, TKey, TAcc, TResult>(
            options.Assigner!,
            aggregate,
            options.Time == TimeCharacteristic.ProcessingTime ? 0 : (long)options.OutOfOrderness.TotalMilliseconds,
            (long)options.AllowedLateness.TotalMilliseconds,
            options.KeyComparer);
        _idleTimeoutMs = options.IdleTimeout is { } idle ? (long)idle.TotalMilliseconds : long.MaxValue;
        _lastArrival = NowMs();
        _lastEarlyFiring = _lastArrival;

        var period = TickPeriod(options);
        if (period is { } p)
        {
            _ticker = _time.CreateTimer(static s => ((WindowOperator<T, TKey, TAcc, TResult>)s!).Tick(), this, p, p);
        }
    }

    public override long? Watermark => _engine.Watermark;

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
        bool added;
        try
        {
            added = _engine.Add(key, timestamp, item, _output);
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
            return LateAsync(item, timestamp, state);
        }

        state?.Ticket?.Succeeded();
        Counts.Add(PipelineCount.Windowed);
        return EmitAsync();
    }

    public override async ValueTask CompleteAsync()
    {
        _ticker?.Dispose();
        _output.Clear();
        _engine.Complete(_output);
        await EmitAsync().ConfigureAwait(false);
        await Next.CompleteAsync().ConfigureAwait(false);
    }

    public override void Stop() => _ticker?.Dispose();

    public override ValueTask FlushAsync()
    {
        if (_arrivedSinceTick)
        {
            // The clock is read once per batch, not per event: idleness is measured from the last batch with events.
            _arrivedSinceTick = false;
            _lastArrival = NowMs();
        }

        return Next.FlushAsync();
    }

    /// <summary>A processing-time tick, run in the segment's loop.</summary>
    internal ValueTask OnTickAsync()
    {
        Volatile.Write(ref _tickQueued, 0);
        var now = NowMs();

        _output.Clear();
        if (_options.Time == TimeCharacteristic.ProcessingTime)
        {
            _engine.AdvanceTo(now - 1, _output);
        }
        else if (now - _lastArrival >= _idleTimeoutMs && _maxTimestamp != long.MinValue)
        {
            // Quiet input: let event time flow with processing time since the last event.
            _engine.AdvanceTo(_maxTimestamp - (long)_options.OutOfOrderness.TotalMilliseconds - 1 + (now - _lastArrival), _output);
        }

        if (_options.EarlyFiringInterval is { } early && now - _lastEarlyFiring >= (long)early.TotalMilliseconds)
        {
            _lastEarlyFiring = now;
            _engine.FireEarly(_output);
        }

        return EmitAsync();
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

    private ValueTask EmitAsync()
    {
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

    private async ValueTask LateAsync(T item, long timestamp, RetryState? state)
    {
        Counts.Add(PipelineCount.Late);
        var message = $"Late event: its timestamp {timestamp} is in no window still open (watermark {_engine.Watermark}, allowed lateness {_options.AllowedLateness.TotalMilliseconds:0} ms).";
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

        await Stage.Pipeline.DeadLetters.LateAsync(Stage.Name, item, message, state?.Ticket).ConfigureAwait(false);
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
