using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventStream;

/// <summary>The pipeline's log messages; per-retry messages are Debug so a failing dependency does not flood the log.</summary>
internal sealed class PipelineLog
{
    private static readonly Action<ILogger, string, string, int, double, Exception?> RetryingMessage =
        LoggerMessage.Define<string, string, int, double>(LogLevel.Debug, new EventId(1, "Retrying"),
            "Pipeline {Pipeline}: stage {Stage} failed attempt {Attempt}; retrying in {DelayMs} ms.");

    private static readonly Action<ILogger, string, string, string, DeadLetterReason, int, string, Exception?> DeadLetteredMessage =
        LoggerMessage.Define<string, string, string, DeadLetterReason, int, string>(LogLevel.Warning, new EventId(2, "DeadLettered"),
            "Pipeline {Pipeline}: stage {Stage} dead-lettered event {Id} ({Reason}, after {Attempts} attempt(s)): {Failure}");

    private static readonly Action<ILogger, string, string, string, Exception?> DeadLetteredDetailMessage =
        LoggerMessage.Define<string, string, string>(LogLevel.Debug, new EventId(5, "DeadLetteredDetail"),
            "Pipeline {Pipeline}: stage {Stage} dead-lettered event {Id}; the failure:");

    private static readonly Action<ILogger, string, string, int, double, Exception?> DeadLetteredBurstMessage =
        LoggerMessage.Define<string, string, int, double>(LogLevel.Warning, new EventId(6, "DeadLetteredBurst"),
            "Pipeline {Pipeline}: stage {Stage} dead-lettered {Count} more event(s) within {Seconds} s of the one logged before; they are in the dead-letter store.");

    /// <summary>
    /// A stage's dead letters get one Warning line per interval; the others are counted, and the count is logged when the
    /// interval ends (a timer on the pipeline's clock), before the next full line, or when the pipeline finishes.
    /// </summary>
    private static readonly TimeSpan BurstInterval = TimeSpan.FromSeconds(10);

    private static readonly Action<ILogger, string, int, Exception?> CanceledMessage =
        LoggerMessage.Define<string, int>(LogLevel.Warning, new EventId(3, "Canceled"),
            "Pipeline {Pipeline} was cancelled with {Count} event(s) in flight; they were dead-lettered with reason Canceled.");

    private static readonly Action<ILogger, string, int, Exception?> LeftoversLostMessage =
        LoggerMessage.Define<string, int>(LogLevel.Error, new EventId(4, "LeftoversLost"),
            "Pipeline {Pipeline} could not dead-letter {Count} event(s) still in flight after it stopped: its dead-letter store failed. The pipeline's completion carries the store's exception.");

    private static readonly Action<ILogger, string, long, string, Exception?> DiscardedMessage =
        LoggerMessage.Define<string, long, string>(LogLevel.Warning, new EventId(7, "DeadLettersDiscarded"),
            "Pipeline {Pipeline}: discarded {Count} dead letter(s) from its store (filter: {Filter}); they are gone for good.");

    private readonly ILogger _logger;
    private readonly string _pipeline;
    private readonly TimeProvider _time;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Burst> _bursts = new(StringComparer.Ordinal);

    public PipelineLog(ILoggerFactory? factory, string pipeline, TimeProvider? time = null)
    {
        _logger = factory?.CreateLogger("EventStream.Pipeline") ?? NullLogger.Instance;
        _pipeline = pipeline;
        _time = time ?? TimeProvider.System;
    }

    public void Retrying(string stage, int attempt, TimeSpan delay, Exception exception)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            RetryingMessage(_logger, _pipeline, stage, attempt, delay.TotalMilliseconds, exception);
        }
    }

    /// <summary>
    /// A dead letter: one Warning line with the stage, the event's dead-letter id, the reason and the failure's message
    /// (its stack trace only at Debug); in a burst, the first of a stage per <see cref="BurstInterval"/>, and then one
    /// line with how many followed.
    /// </summary>
    public void DeadLettered(string stage, DeadLetterReason reason, string id, int attempts, Exception exception)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            DeadLetteredDetailMessage(_logger, _pipeline, stage, id, exception);
        }

        if (!_logger.IsEnabled(LogLevel.Warning))
        {
            return;
        }

        var now = _time.GetTimestamp();
        var burst = _bursts.GetOrAdd(stage, static (name, log) => new Burst(log, name), this);
        int followed;
        lock (burst)
        {
            var elapsed = _time.GetElapsedTime(burst.At, now);
            if (burst.Logged && elapsed < BurstInterval)
            {
                burst.Followed++;
                burst.Timer ??= _time.CreateTimer(static state => ((Burst)state!).Flush(), burst, BurstInterval - elapsed, Timeout.InfiniteTimeSpan);
                return;
            }

            followed = burst.TakeFollowed();
            (burst.Logged, burst.At) = (true, now);
        }

        LogFollowed(stage, followed);
        DeadLetteredMessage(_logger, _pipeline, stage, id, reason, attempts, exception.GetType().Name + ": " + exception.Message.ReplaceLineEndings(" "), null);
    }

    /// <summary>Logs every stage's dead letters counted but not yet logged: the pipeline has finished, so no interval will end for them.</summary>
    public void Flush()
    {
        foreach (var burst in _bursts.Values)
        {
            burst.Flush();
        }
    }

    /// <summary>One Warning line per discard call, with the count (0 too) and the filter.</summary>
    public void Discarded(long count, DeadLetterDiscard filter) => DiscardedMessage(_logger, _pipeline, count, filter.ToString(), null);

    public void Canceled(int count) => CanceledMessage(_logger, _pipeline, count, null);

    public void LeftoversLost(int count, Exception exception) => LeftoversLostMessage(_logger, _pipeline, count, exception);

    private void LogFollowed(string stage, int followed)
    {
        if (followed > 0)
        {
            DeadLetteredBurstMessage(_logger, _pipeline, stage, followed, BurstInterval.TotalSeconds, null);
        }
    }

    /// <summary>A stage's dead letters since its last Warning line, and the timer that logs their count when the interval ends.</summary>
    private sealed class Burst(PipelineLog log, string stage)
    {
        public bool Logged { get; set; }

        public long At { get; set; }

        public int Followed { get; set; }

        public ITimer? Timer { get; set; }

        /// <summary>Takes the count (under the burst's lock) and stops the timer: the caller logs it.</summary>
        public int TakeFollowed()
        {
            var followed = Followed;
            Followed = 0;
            Timer?.Dispose();
            Timer = null;
            return followed;
        }

        public void Flush()
        {
            int followed;
            lock (this)
            {
                followed = TakeFollowed();
            }

            log.LogFollowed(stage, followed);
        }
    }
}
