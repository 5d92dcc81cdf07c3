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

    /// <summary>A stage's dead letters get one Warning line per interval; the others are counted into the next one.</summary>
    private static readonly TimeSpan BurstInterval = TimeSpan.FromSeconds(10);

    private static readonly Action<ILogger, string, int, Exception?> CanceledMessage =
        LoggerMessage.Define<string, int>(LogLevel.Warning, new EventId(3, "Canceled"),
            "Pipeline {Pipeline} was cancelled with {Count} event(s) in flight; they were dead-lettered with reason Canceled.");

    private static readonly Action<ILogger, string, int, Exception?> LeftoversLostMessage =
        LoggerMessage.Define<string, int>(LogLevel.Error, new EventId(4, "LeftoversLost"),
            "Pipeline {Pipeline} could not dead-letter {Count} event(s) still in flight after it stopped: its dead-letter store failed. The pipeline's completion carries the store's exception.");

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
        var burst = _bursts.GetOrAdd(stage, static _ => new Burst());
        int followed;
        lock (burst)
        {
            if (burst.Logged && _time.GetElapsedTime(burst.At, now) < BurstInterval)
            {
                burst.Followed++;
                return;
            }

            followed = burst.Followed;
            (burst.Logged, burst.At, burst.Followed) = (true, now, 0);
        }

        if (followed > 0)
        {
            DeadLetteredBurstMessage(_logger, _pipeline, stage, followed, BurstInterval.TotalSeconds, null);
        }

        DeadLetteredMessage(_logger, _pipeline, stage, id, reason, attempts, exception.GetType().Name + ": " + exception.Message.ReplaceLineEndings(" "), null);
    }

    public void Canceled(int count) => CanceledMessage(_logger, _pipeline, count, null);

    public void LeftoversLost(int count, Exception exception) => LeftoversLostMessage(_logger, _pipeline, count, exception);

    /// <summary>A stage's dead letters since its last Warning line.</summary>
    private sealed class Burst
    {
        public bool Logged { get; set; }

        public long At { get; set; }

        public int Followed { get; set; }
    }
}
