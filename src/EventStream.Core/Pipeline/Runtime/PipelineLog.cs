using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventStream;

/// <summary>The pipeline's log messages; per-retry messages are Debug so a failing dependency does not flood the log.</summary>
internal sealed class PipelineLog
{
    private static readonly Action<ILogger, string, string, int, double, Exception?> RetryingMessage =
        LoggerMessage.Define<string, string, int, double>(LogLevel.Debug, new EventId(1, "Retrying"),
            "Pipeline {Pipeline}: stage {Stage} failed attempt {Attempt}; retrying in {DelayMs} ms.");

    private static readonly Action<ILogger, string, string, int, Exception?> DeadLetteredMessage =
        LoggerMessage.Define<string, string, int>(LogLevel.Warning, new EventId(2, "DeadLettered"),
            "Pipeline {Pipeline}: stage {Stage} dead-lettered an event after {Attempts} attempt(s).");

    private static readonly Action<ILogger, string, int, Exception?> CanceledMessage =
        LoggerMessage.Define<string, int>(LogLevel.Warning, new EventId(3, "Canceled"),
            "Pipeline {Pipeline} was cancelled with {Count} event(s) in flight; they were dead-lettered with reason Canceled.");

    private static readonly Action<ILogger, string, int, Exception?> LeftoversLostMessage =
        LoggerMessage.Define<string, int>(LogLevel.Error, new EventId(4, "LeftoversLost"),
            "Pipeline {Pipeline} could not dead-letter {Count} event(s) still in flight after it stopped: its dead-letter store failed. The pipeline's completion carries the store's exception.");

    private readonly ILogger _logger;
    private readonly string _pipeline;

    public PipelineLog(ILoggerFactory? factory, string pipeline)
    {
        _logger = factory?.CreateLogger("EventStream.Pipeline") ?? NullLogger.Instance;
        _pipeline = pipeline;
    }

    public void Retrying(string stage, int attempt, TimeSpan delay, Exception exception)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            RetryingMessage(_logger, _pipeline, stage, attempt, delay.TotalMilliseconds, exception);
        }
    }

    public void DeadLettered(string stage, int attempts, Exception exception) => DeadLetteredMessage(_logger, _pipeline, stage, attempts, exception);

    public void Canceled(int count) => CanceledMessage(_logger, _pipeline, count, null);

    public void LeftoversLost(int count, Exception exception) => LeftoversLostMessage(_logger, _pipeline, count, exception);
}
