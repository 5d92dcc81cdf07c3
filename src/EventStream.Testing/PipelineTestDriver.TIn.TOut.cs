using System.Globalization;
using System.Text;

namespace EventStream.Testing;

/// <summary>
/// Runs a pipeline on a fake clock, one step at a time, so that a test reads like a specification: send events
/// (<see cref="SendAsync(TIn)"/>), move processing time (<see cref="AdvanceTimeAsync"/>), end the input
/// (<see cref="CompleteAsync"/>: the watermark becomes +∞ and every window fires), replay dead letters; then read what
/// the sink accepted (<see cref="Delivered"/>), each window stage's results (<see cref="WindowResults{TKey, TValue}"/>),
/// late events (<see cref="Late{T}"/>), dead letters (<see cref="DeadLetters"/>) and the counts
/// (<see cref="Metrics"/>), and check the accounting in one call (<see cref="AssertBalanced"/>).
/// </summary>
/// <typeparam name="TIn">The pipeline's input type.</typeparam>
/// <typeparam name="TOut">The sink's input type.</typeparam>
/// <remarks>
/// <para>
/// Each step returns once the pipeline is <em>quiescent</em>: every stage's worker is parked with its queue and inbox
/// empty, so nothing can happen until the clock moves or another event comes. The pipeline runs on its own workers as it
/// does in production; the driver only waits for them, so what a test sees is what the pipeline does.
/// </para>
/// <para>
/// Time moves only when the test moves it. <see cref="AdvanceTimeAsync"/> goes from one due timer to the next and lets the
/// pipeline settle after each, so a retry whose back-off ends within the advance runs (and, failing again, waits for the
/// next back-off, which runs too if it also ends within the advance); early firings and idle watermarks fire at their
/// times. <see cref="CompleteAsync"/> and <see cref="ReplayDeadLettersAsync"/> move the clock as far as the retries they
/// wait for need, and no further. Event time is the events' own: the watermark moves when an event with a later
/// timestamp is sent (as in the pipeline itself), and becomes +∞ on <see cref="CompleteAsync"/>.
/// </para>
/// <para>Not thread-safe: one test drives it, one step at a time.</para>
/// </remarks>
public sealed class PipelineTestDriver<TIn, TOut> : IAsyncDisposable
{
    private readonly EventPipeline<TIn> _pipeline;
    private readonly PipelineDefinition _definition;
    private readonly DriverClock _clock;
    private readonly Recorder _recorder = new();
    private readonly TimeSpan _settleTimeout;
    private readonly bool _ownStore;
    private IReadOnlyList<DeadLetterEntry> _deadLetters = [];

    internal PipelineTestDriver(PipelineBuilder<TIn, TOut> builder, PipelineTestDriverOptions options)
    {
        _definition = builder.Definition;
        if (_definition.Built)
        {
            throw new ArgumentException("The builder was already built; pass the driver a builder that has not been (it builds it on its clock).", nameof(builder));
        }

        if (_definition.BuildHook is not null)
        {
            throw new ArgumentException("The builder is set up to run partitioned over Redis; the driver runs a pipeline in process. Pass it the builder before the Redis registration takes it.", nameof(builder));
        }

        if (options.SettleTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"SettleTimeout must be positive (was {options.SettleTimeout}).", nameof(options));
        }

        _settleTimeout = options.SettleTimeout;
        _clock = new DriverClock(options.StartTime);
        _definition.Options.TimeProvider = _clock;
        if (_definition.Options.DeadLetterStore is null)
        {
            _definition.Options.DeadLetterStore = new InMemoryDeadLetterStore();
            _ownStore = true;
        }

        _definition.Observer = _recorder;
        _pipeline = (EventPipeline<TIn>)builder.Build();
    }

    /// <summary>Gets the running pipeline, for what the driver does not wrap (its other doors, discarding dead letters).</summary>
    /// <remarks>Call a step of the driver after using it directly, so the pipeline settles before the test reads the results.</remarks>
    public IEventPipeline<TIn> Pipeline => _pipeline;

    /// <summary>Gets the driver's fake clock, the pipeline's <see cref="PipelineOptions.TimeProvider"/>. Move it with <see cref="AdvanceTimeAsync"/>.</summary>
    public TimeProvider Clock => _clock;

    /// <summary>Gets the current time of the driver's clock.</summary>
    public DateTimeOffset Now => _clock.GetUtcNow();

    /// <summary>Gets the events the sink accepted (its handler completed), in the order it accepted them.</summary>
    public IReadOnlyList<TOut> Delivered => _recorder.DeliveredAs<TOut>();

    /// <summary>Gets the pipeline's dead letters as they were at the end of the last step, oldest first, late events included.</summary>
    public IReadOnlyList<DeadLetterEntry> DeadLetters => _deadLetters;

    /// <summary>Gets the pipeline's metrics now (after a step: the quiescent pipeline's).</summary>
    public PipelineMetrics Metrics => _pipeline.GetMetrics();

    /// <summary>Gets how many events wait for a retry's back-off (or are being replayed).</summary>
    public int WaitingForRetry => _pipeline.Segments.Sum(s => s.Inbox.Expected);

    /// <summary>Sends an event (waiting for room if the input queue is full), then waits until the pipeline is quiescent.</summary>
    /// <param name="item">The event.</param>
    /// <returns>A task that completes when the pipeline is quiescent.</returns>
    /// <exception cref="InvalidOperationException">The pipeline has been completed.</exception>
    /// <exception cref="TimeoutException">The pipeline did not become quiescent within <see cref="PipelineTestDriverOptions.SettleTimeout"/>.</exception>
    public async Task SendAsync(TIn item)
    {
        await _pipeline.WriteAsync(item).ConfigureAwait(false);
        await SettleAsync().ConfigureAwait(false);
    }

    /// <summary>Sends events in order, then waits until the pipeline is quiescent.</summary>
    /// <param name="items">The events.</param>
    /// <returns>A task that completes when the pipeline is quiescent.</returns>
    /// <exception cref="InvalidOperationException">The pipeline has been completed.</exception>
    /// <exception cref="TimeoutException">The pipeline did not become quiescent within <see cref="PipelineTestDriverOptions.SettleTimeout"/>.</exception>
    public async Task SendAsync(IEnumerable<TIn> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        foreach (var item in items)
        {
            await _pipeline.WriteAsync(item).ConfigureAwait(false);
        }

        await SettleAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Moves processing time forward by <paramref name="by"/>, timer by timer: at each due timer (a retry's back-off, an
    /// early firing, an idle-watermark check, a handler's timeout) the clock stops, the timer fires and the pipeline
    /// settles, then the clock goes on. Returns with the clock at the start time plus <paramref name="by"/>, quiescent.
    /// </summary>
    /// <param name="by">How far; zero fires what is due now.</param>
    /// <returns>A task that completes when the pipeline is quiescent at the new time.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="by"/> is negative.</exception>
    /// <exception cref="TimeoutException">The pipeline did not become quiescent within <see cref="PipelineTestDriverOptions.SettleTimeout"/>.</exception>
    public async Task AdvanceTimeAsync(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        var target = Now + by;
        await SettleAsync().ConfigureAwait(false);
        while (!_pipeline.Completion.IsCompleted && _clock.NextDue() is { } due && due <= target)
        {
            _clock.MoveTo(due);
            await SettleAsync().ConfigureAwait(false);
        }

        _clock.MoveTo(target);
        await SettleAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Ends the input and waits until the pipeline has drained: the watermark becomes +∞, so every window fires
    /// (<see cref="WindowFiring.OnTime"/>), and pending retries run, the clock moving to each back-off's end (and no
    /// further once nothing waits).
    /// </summary>
    /// <returns>A task that completes when the pipeline has completed.</returns>
    /// <exception cref="TimeoutException">The pipeline did not complete within <see cref="PipelineTestDriverOptions.SettleTimeout"/> of its last progress.</exception>
    public async Task CompleteAsync()
    {
        _pipeline.Complete();
        await DriveUntilAsync(_pipeline.Completion).ConfigureAwait(false);
        await _pipeline.Completion.ConfigureAwait(false);
        await RefreshAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Replays the pipeline's dead letters, oldest first (see <see cref="IEventPipeline{T}.ReplayDeadLettersAsync"/>),
    /// and waits for their outcomes: a replayed event that fails again is retried on the fake clock, the clock moving to
    /// each back-off's end, until it passes its stage or is dead-lettered again.
    /// </summary>
    /// <param name="maxCount">The most entries to replay.</param>
    /// <returns>How many were replayed, failed again, or skipped.</returns>
    public async Task<ReplayResult> ReplayDeadLettersAsync(int maxCount = int.MaxValue)
    {
        var replay = _pipeline.ReplayDeadLettersAsync(maxCount);
        await DriveUntilAsync(replay).ConfigureAwait(false);
        var result = await replay.ConfigureAwait(false);
        await SettleAsync().ConfigureAwait(false);
        return result;
    }

    /// <summary>Gets the results a window stage emitted, in order: each firing of each window, with its kind and number.</summary>
    /// <typeparam name="TKey">The stage's key type.</typeparam>
    /// <typeparam name="TValue">The stage's aggregate result type.</typeparam>
    /// <param name="stage">The window stage's name.</param>
    /// <returns>The results so far.</returns>
    /// <exception cref="ArgumentException">No window stage has that name, or its results are of another type (the message names it).</exception>
    public IReadOnlyList<WindowResult<TKey, TValue>> WindowResults<TKey, TValue>(string stage)
    {
        var definition = WindowStage(stage);
        var produces = definition.GetType().GetGenericArguments()[1];
        if (produces != typeof(WindowResult<TKey, TValue>))
        {
            throw new ArgumentException($"Window stage '{stage}' emits {Describe(produces)}, not {Describe(typeof(WindowResult<TKey, TValue>))}.", nameof(stage));
        }

        return _recorder.ResultsOf(stage).Cast<WindowResult<TKey, TValue>>().ToList();
    }

    /// <summary>
    /// Gets the late events of a window stage (added to no window still open): those its
    /// <see cref="WindowOptions{T, TKey}.LateOutput"/> accepted, then those in the dead-letter store with reason
    /// <see cref="DeadLetterReason.Late"/> (the default late output), each in the order they arrived there.
    /// </summary>
    /// <typeparam name="T">The window stage's input type.</typeparam>
    /// <param name="stage">The window stage's name.</param>
    /// <returns>The late events so far.</returns>
    /// <exception cref="ArgumentException">No window stage has that name.</exception>
    public IReadOnlyList<T> Late<T>(string stage)
    {
        WindowStage(stage);
        return _recorder.LateOutputOf(stage)
            .Concat(_deadLetters.Where(d => d.Reason == DeadLetterReason.Late && d.Stage == stage).Select(d => d.Event))
            .Cast<T>()
            .ToList();
    }

    /// <summary>
    /// Checks the accounting in one call: every event brought in (accepted, fanned out, replayed, or a window result) is
    /// delivered, filtered, dead-lettered, late, windowed, or waiting for a retry, exactly once (see
    /// <see cref="PipelineAccounting.AssertBalanced"/>). When the pipeline uses the driver's own dead-letter store (you set
    /// none), also that the store holds exactly the dead-lettered and late events not replayed, discarded or taken by a late output.
    /// </summary>
    /// <exception cref="PipelineAccountingException">Something does not balance; the message names every term.</exception>
    public void AssertBalanced()
    {
        var metrics = Metrics;
        PipelineAccounting.AssertBalanced(metrics, WaitingForRetry);
        if (!_ownStore)
        {
            return;
        }

        var lateToOutput = _recorder.LateOutputCount();
        var expected = metrics.DeadLettered + metrics.Late - lateToOutput - metrics.Replayed - metrics.Discarded;
        if (_deadLetters.Count != expected)
        {
            throw new PipelineAccountingException(string.Create(
                CultureInfo.InvariantCulture,
                $"Pipeline '{metrics.Pipeline}': its dead-letter store holds {_deadLetters.Count} entries, but dead-lettered {metrics.DeadLettered} + late {metrics.Late} - taken by a late output {lateToOutput} - replayed {metrics.Replayed} - discarded {metrics.Discarded} = {expected}."));
        }
    }

    /// <summary>Disposes the pipeline: one not completed is cancelled (what it holds is dead-lettered as cancelled).</summary>
    /// <returns>A task that completes when the pipeline has stopped.</returns>
    public ValueTask DisposeAsync() => _pipeline.DisposeAsync();

    private static string Describe(Type type) =>
        type.IsGenericType
            ? $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(Describe))}>"
            : type.Name;

    private StageDefinition WindowStage(string stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        var definition = _definition.Stages.FirstOrDefault(s => s.Name == stage && s.Kind == StageKind.Window);
        return definition ?? throw new ArgumentException(
            $"Pipeline '{_pipeline.Name}' has no window stage '{stage}'; its window stages: {string.Join(", ", _definition.Stages.Where(s => s.Kind == StageKind.Window).Select(s => $"'{s.Name}'").DefaultIfEmpty("none"))}.",
            nameof(stage));
    }

    /// <summary>Waits until the pipeline is quiescent (or has completed), then takes the dead letters' snapshot.</summary>
    private async Task SettleAsync()
    {
        var deadline = Environment.TickCount64 + (long)_settleTimeout.TotalMilliseconds;
        var polls = 0;
        while (!_pipeline.Completion.IsCompleted && !IsQuiescent(allowFinished: false))
        {
            await PollAsync(deadline, ++polls).ConfigureAwait(false);
        }

        if (_pipeline.Completion.IsFaulted)
        {
            await _pipeline.Completion.ConfigureAwait(false);
        }

        await RefreshAsync().ConfigureAwait(false);
    }

    /// <summary>Waits until <paramref name="task"/> completes, moving the clock to the next due timer whenever the pipeline is quiescent and a retry waits for it.</summary>
    private async Task DriveUntilAsync(Task task)
    {
        var deadline = Environment.TickCount64 + (long)_settleTimeout.TotalMilliseconds;
        var polls = 0;
        while (!task.IsCompleted)
        {
            if (_pipeline.Completion.IsFaulted)
            {
                await _pipeline.Completion.ConfigureAwait(false);
            }

            if (WaitingForRetry > 0 && IsQuiescent(allowFinished: true) && _clock.NextDue() is { } due)
            {
                _clock.MoveTo(due);
                deadline = Environment.TickCount64 + (long)_settleTimeout.TotalMilliseconds;
                polls = 0;
                continue;
            }

            await PollAsync(deadline, ++polls).ConfigureAwait(false);
        }
    }

    private async Task PollAsync(long deadline, int polls)
    {
        if (Environment.TickCount64 > deadline)
        {
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"Pipeline '{_pipeline.Name}' did not become quiescent within {_settleTimeout.TotalSeconds:0.###} s (real time): {Busy()}. A handler may be waiting for something the driver's clock does not move (a real delay, a lock, an outside call)."));
        }

        // A pipeline that only computes settles in a few thread hops: yield first, then poll gently.
        if (polls < 64)
        {
            await Task.Yield();
        }
        else
        {
            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Every worker parked on its signal, with its queue and inbox empty, and still parked on the same wait at a second
    /// look: nothing can progress until the clock moves or an event comes. (Work handed from one segment to another sets
    /// the receiver's signal, so it cannot slip between the two looks unseen.) A finished segment counts as parked when
    /// <paramref name="allowFinished"/>.
    /// </summary>
    private bool IsQuiescent(bool allowFinished)
    {
        var segments = _pipeline.Segments;
        Span<int> waits = stackalloc int[segments.Count];
        for (var i = 0; i < segments.Count; i++)
        {
            var segment = segments[i];
            waits[i] = segment.Signal.Waits;
            if (!Parked(segment, allowFinished))
            {
                return false;
            }
        }

        for (var i = 0; i < segments.Count; i++)
        {
            var segment = segments[i];
            if (!Parked(segment, allowFinished) || segment.Signal.Waits != waits[i])
            {
                return false;
            }
        }

        return true;
    }

    private static bool Parked(Segment segment, bool allowFinished) =>
        (allowFinished && segment.Inbox.IsFinished) || (segment.Signal.IsWaiting && segment.QueueDepth == 0 && segment.Inbox.IsEmpty);

    private string Busy()
    {
        var busy = new StringBuilder();
        foreach (var segment in _pipeline.Segments.Where(s => !Parked(s, allowFinished: true)))
        {
            busy.Append(busy.Length == 0 ? "" : "; ")
                .Append(CultureInfo.InvariantCulture, $"the worker of stage '{segment.HeadStage}' is busy ({segment.QueueDepth} queued, inbox {(segment.Inbox.IsEmpty ? "empty" : "not empty")})");
        }

        return busy.Length == 0 ? "every worker is parked" : busy.ToString();
    }

    private async Task RefreshAsync() =>
        _deadLetters = await _pipeline.DeadLetters.ListAsync(_pipeline.Name, int.MaxValue).ConfigureAwait(false);
}
