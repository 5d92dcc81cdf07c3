namespace EventStream.Samples.Dashboard;

/// <summary>
/// What the page's own endpoints need that depends on where the pipeline runs: the counters beside the live figures,
/// and the demo fault. Ingest and the dead letters go through the package's endpoints to the pipeline registered under
/// <see cref="DashboardPipeline.ApiKey"/>. <see cref="InMemoryBackend"/> in one process; <see cref="RedisBackend"/> with <c>--redis</c>.
/// </summary>
public interface IDashboardBackend
{
    /// <summary>The counters the live figures show.</summary>
    ValueTask<LiveCounters> CountersAsync(CancellationToken cancellationToken);

    /// <summary>Switches the demo fault.</summary>
    ValueTask SetFaultAsync(bool enabled, CancellationToken cancellationToken);
}

/// <summary>The counters beside the figures.</summary>
/// <param name="FinishedPerSecond">The pipeline's <see cref="PipelineMetrics.ThroughputPerSecond"/>: items its stages finished per second, fan-out copies and window results included (not events admitted).</param>
/// <param name="Accepted">Events admitted, ever.</param>
/// <param name="DeadLetters">Dead letters in the store now.</param>
/// <param name="Late">Late events (copies: each event is windowed twice, under its site and its page).</param>
/// <param name="Fault">Whether the demo fault is on.</param>
public sealed record LiveCounters(double FinishedPerSecond, long Accepted, long DeadLetters, long Late, bool Fault);

/// <summary>In one process: the pipeline's metrics and dead-letter store.</summary>
public sealed class InMemoryBackend(IEventPipeline<PipelineEvent> pipeline, FaultSwitch fault) : IDashboardBackend
{
    /// <inheritdoc />
    public async ValueTask<LiveCounters> CountersAsync(CancellationToken cancellationToken)
    {
        var metrics = pipeline.GetMetrics();
        var deadLetters = await pipeline.DeadLetters.CountAsync(pipeline.Name, cancellationToken).ConfigureAwait(false);
        return new LiveCounters(metrics.ThroughputPerSecond, metrics.Accepted, deadLetters, metrics.Late, fault.Enabled);
    }

    /// <inheritdoc />
    public ValueTask SetFaultAsync(bool enabled, CancellationToken cancellationToken)
    {
        fault.Enabled = enabled;
        return default;
    }
}
