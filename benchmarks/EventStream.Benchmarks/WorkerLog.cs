using Microsoft.Extensions.Logging;

namespace EventStream.Benchmarks;

/// <summary>
/// A worker's log lines into the benchmark's output (and its results file): those <paramref name="keep"/> accepts,
/// e.g. warnings and errors (outages, fenced partitions, a failed final commit), each prefixed with the worker's name.
/// Counts the warnings and errors it saw, kept or not.
/// </summary>
internal sealed class WorkerLog(TextWriter output, string name, Func<LogLevel, string, bool> keep) : ILogger
{
    private int _problems;

    public int Problems => Volatile.Read(ref _problems);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        var message = formatter(state, exception);
        if (logLevel >= LogLevel.Warning)
        {
            Interlocked.Increment(ref _problems);
        }

        if (keep(logLevel, message))
        {
            lock (output)
            {
                output.WriteLine($"  [{name} {logLevel}] {message}{(exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})")}");
            }
        }
    }
}
