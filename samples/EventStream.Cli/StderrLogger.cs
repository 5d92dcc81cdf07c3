using Microsoft.Extensions.Logging;

namespace EventStream.Cli;

/// <summary>A logger that writes one line per message to standard error: <c>eventstream worker NAME: message</c>.</summary>
internal sealed class StderrLogger(string prefix, LogLevel minimum) : ILogger
{
    private static readonly Lock Gate = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var line = $"{prefix}: {(logLevel >= LogLevel.Warning ? logLevel.ToString().ToLowerInvariant() + ": " : string.Empty)}{WindowCommand.OneLine(formatter(state, exception))}";
        lock (Gate)
        {
            Console.Error.WriteLine(line);
        }
    }
}

/// <summary>Makes <see cref="StderrLogger"/>s for a library that asks for a factory (the Redis client, with --verbose).</summary>
internal sealed class StderrLoggerFactory(string prefix, LogLevel minimum) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new StderrLogger(prefix, minimum);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("the CLI's loggers write to standard error only");

    public void Dispose()
    {
    }
}
