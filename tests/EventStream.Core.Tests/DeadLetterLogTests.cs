using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace EventStream.Tests;

/// <summary>What an operator reads in the log when events are dead-lettered (issue 11).</summary>
public sealed class DeadLetterLogTests
{
    [Fact]
    public async Task A_dead_letter_is_one_warning_line_without_a_stack_and_a_burst_is_summarised_per_stage()
    {
        // Regression: every dead letter was a Warning with the exception's stack trace attached; the dashboard's demo
        // fault printed 782 warnings and 3,148 log lines in 20 s.
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20_000));
        var logs = new Logs(LogLevel.Warning);
        await using var pipeline = PipelineBuilder.Create<int>("orders", o =>
            {
                o.Retry = RetryOptions.None;
                o.LoggerFactory = logs;
                o.TimeProvider = time;
            })
            .Transform("geo", int (x) => throw new TimeoutException($"geo lookup {x} timed out"))
            .Sink("s", _ => { })
            .Build();

        await pipeline.WriteBatchAsync(Enumerable.Range(0, 100).ToArray());
        await TestSupport.Eventually(() => pipeline.GetMetrics().DeadLettered == 100, "every event dead-lettered");
        var first = (await pipeline.DeadLetters.ListAsync("orders", 1))[0];

        logs.Lines.Should().ContainSingle("one line for the burst so far").Which.Should().Be(
            $"Warning: Pipeline orders: stage geo dead-lettered event {first.Id} (Failed, after 1 attempt(s)): TimeoutException: geo lookup 0 timed out [no exception]");

        time.Advance(TimeSpan.FromSeconds(11));
        await pipeline.WriteAsync(100);
        await TestSupport.Eventually(() => pipeline.GetMetrics().DeadLettered == 101, "the next one dead-lettered");
        logs.Lines.Should().HaveCount(3);
        logs.Lines.ElementAt(1).Should().Be("Warning: Pipeline orders: stage geo dead-lettered 99 more event(s) within 10 s of the one logged before; they are in the dead-letter store. [no exception]");
        logs.Lines.ElementAt(2).Should().Contain("geo lookup 100 timed out").And.EndWith("[no exception]");
    }

    [Fact]
    public async Task A_burst_that_ends_is_summarised_when_its_interval_ends_and_what_is_left_when_the_pipeline_finishes()
    {
        // Regression: the count of a burst was logged only with the next dead letter after the interval, so a burst that
        // simply ended (the usual case: a dependency came back) was never summarised.
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20_000));
        var logs = new Logs(LogLevel.Warning);
        var pipeline = PipelineBuilder.Create<int>("orders", o =>
            {
                o.Retry = RetryOptions.None;
                o.LoggerFactory = logs;
                o.TimeProvider = time;
            })
            .Transform("geo", int (x) => x >= 1000 ? x : throw new TimeoutException($"geo lookup {x} timed out"))
            .Sink("s", _ => { })
            .Build();

        await pipeline.WriteBatchAsync(Enumerable.Range(0, 50).ToArray());
        await TestSupport.Eventually(() => pipeline.GetMetrics().DeadLettered == 50, "every event dead-lettered");
        logs.Lines.Should().ContainSingle("one line while the interval runs");

        time.Advance(TimeSpan.FromSeconds(10));
        logs.Lines.Should().HaveCount(2, "the interval ended: its count is logged without waiting for another dead letter");
        logs.Lines.ElementAt(1).Should().StartWith("Warning: Pipeline orders: stage geo dead-lettered 49 more event(s) within 10 s");

        time.Advance(TimeSpan.FromSeconds(1));
        await pipeline.WriteBatchAsync(new[] { 50, 51, 52, 1000 });
        await TestSupport.Eventually(() => pipeline.GetMetrics().DeadLettered == 53, "three more dead-lettered");
        logs.Lines.Should().HaveCount(3, "a new interval starts with a full line");
        await pipeline.CompleteAsync();
        logs.Lines.Should().HaveCount(4, "the pipeline finished inside the interval: what it counted is logged");
        logs.Lines.ElementAt(3).Should().StartWith("Warning: Pipeline orders: stage geo dead-lettered 2 more event(s)");
        await pipeline.DisposeAsync();
    }

    [Fact]
    public async Task At_debug_each_dead_letter_carries_its_failure()
    {
        var logs = new Logs(LogLevel.Debug);
        await using var pipeline = PipelineBuilder.Create<int>("orders", o =>
            {
                o.Retry = RetryOptions.None;
                o.LoggerFactory = logs;
            })
            .Transform("geo", int (x) => throw new TimeoutException("down"))
            .Sink("s", _ => { })
            .Build();

        await pipeline.WriteBatchAsync(new[] { 1, 2, 3 });
        await pipeline.CompleteAsync();

        logs.Lines.Where(l => l.StartsWith("Debug:", StringComparison.Ordinal) && l.Contains("; the failure:", StringComparison.Ordinal))
            .Should().HaveCount(3).And.OnlyContain(l => l.EndsWith("[TimeoutException]", StringComparison.Ordinal));
    }

    /// <summary>Every log line as text: level, message, and the type of the exception attached to it.</summary>
    private sealed class Logs(LogLevel minimum) : ILoggerFactory, ILogger
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Lines.Enqueue($"{logLevel}: {formatter(state, exception)} [{exception?.GetType().Name ?? "no exception"}]");
            }
        }

        public void Dispose()
        {
        }
    }
}
