using EventStream.AspNetCore.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventStream.AspNetCore.Tests;

/// <summary>
/// The figures a real pipeline is slow to produce on demand (a watermark lag, a store that never answers), through a
/// stand-in pipeline and <see cref="HealthCheckService"/> directly.
/// </summary>
public sealed class HealthCheckLagTests
{
    private sealed class StubPipeline(TimeSpan? lag, IDeadLetterStore store) : IEventPipeline<int>
    {
        public string Name => "stub";

        public Task Completion { get; } = new TaskCompletionSource().Task;

        public IDeadLetterStore DeadLetters => store;

        public PipelineMetrics GetMetrics() => new() { Pipeline = Name, Stages = [], WatermarkLag = lag };

        public bool TryWrite(int item) => throw new NotSupportedException();

        public ValueTask WriteAsync(int item, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask WriteBatchAsync(ReadOnlyMemory<int> items, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public void Ingest(ReadOnlySpan<int> items) => throw new NotSupportedException();

        public void Complete() => throw new NotSupportedException();

        public Task CompleteAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<ReplayResult> ReplayDeadLettersAsync(int maxCount = int.MaxValue, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<long> DiscardDeadLettersAsync(DeadLetterDiscard filter, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask DisposeAsync() => default;
    }

    /// <summary>A store whose count never comes back (a remote store that hangs).</summary>
    private sealed class HangingStore : IDeadLetterStore
    {
        private readonly TaskCompletionSource<long> _never = new();

        public bool IsFull => false;

        public ValueTask AddAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default) => default;

        public ValueTask ReplaceAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default) => default;

        public ValueTask<IReadOnlyList<DeadLetterEntry>> ListAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default) => new(Array.Empty<DeadLetterEntry>());

        public ValueTask<long> CountAsync(string? pipeline = null, CancellationToken cancellationToken = default) => new(_never.Task); // ignores the token

        public ValueTask<bool> RemoveAsync(string id, CancellationToken cancellationToken = default) => new(false);
    }

    private static async Task<HealthReportEntry> CheckAsync(IEventPipeline<int> pipeline, Action<EventPipelineHealthCheckOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOptions();
        services.AddKeyedSingleton("stub", pipeline);
        services.AddHealthChecks().AddEventPipelineHealthCheck<int>("stub", configure);
        await using var provider = services.BuildServiceProvider();
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        report.Entries.Keys.Should().Equal("event-pipeline-stub");
        return report.Entries["event-pipeline-stub"];
    }

    [Fact]
    public async Task A_watermark_lag_past_the_maximum_degrades()
    {
        var entry = await CheckAsync(new StubPipeline(TimeSpan.FromMinutes(5), new InMemoryDeadLetterStore()), o => o.MaxWatermarkLag = TimeSpan.FromMinutes(1));
        entry.Status.Should().Be(HealthStatus.Degraded);
        entry.Data["watermarkLag"].Should().Be(TimeSpan.FromMinutes(5));
        entry.Description.Should().Contain("watermark trails the clock");
    }

    [Fact]
    public async Task A_watermark_lag_is_reported_but_not_judged_without_a_maximum()
    {
        var entry = await CheckAsync(new StubPipeline(TimeSpan.FromMinutes(5), new InMemoryDeadLetterStore()), _ => { });
        entry.Status.Should().Be(HealthStatus.Healthy);
        entry.Data["watermarkLag"].Should().Be(TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task A_count_that_does_not_answer_in_time_is_a_store_failure()
    {
        var entry = await CheckAsync(new StubPipeline(null, new HangingStore()), o => o.DeadLetterCountTimeout = TimeSpan.FromMilliseconds(50));
        entry.Status.Should().Be(HealthStatus.Degraded);
        entry.Exception.Should().BeOfType<TimeoutException>();
        entry.Data.Should().NotContainKey("watermarkLag");
    }
}
