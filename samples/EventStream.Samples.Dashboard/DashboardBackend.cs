
namespace EventStream.Samples.Dashboard;

/// <summary>
/// What the API does that depends on where the pipeline runs: admitting events, dead-lettering the bad elements of a
/// POST, listing, counting and replaying dead letters, the counters of the live figures, and the demo fault.
/// <see cref="InMemoryBackend"/> in one process; <see cref="RedisBackend"/> with <c>--redis</c>.
/// </summary>
public interface IDashboardBackend : IIngress
{
    /// <summary>Records a bad element of an admitted batch as a dead letter (stage <c>http</c>).</summary>
    ValueTask RejectAsync(DeadLetterEntry entry, CancellationToken cancellationToken);

    /// <summary>Lists up to <paramref name="limit"/> dead letters.</summary>
    Task<IReadOnlyList<DeadLetterEntry>> ListDeadLettersAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Counts the dead letters.</summary>
    Task<long> CountDeadLettersAsync(CancellationToken cancellationToken);

    /// <summary>Replays the dead letters whose events can be replayed (the bad elements of a POST cannot: they are skipped).</summary>
    Task<ReplayResult> ReplayDeadLettersAsync(CancellationToken cancellationToken);

    /// <summary>The counters the live figures show.</summary>
    ValueTask<LiveCounters> CountersAsync(CancellationToken cancellationToken);

    /// <summary>Switches the demo fault.</summary>
    ValueTask SetFaultAsync(bool enabled, CancellationToken cancellationToken);
}

/// <summary>The counters beside the figures: events per second, events admitted, dead letters, late events, and whether the demo fault is on.</summary>
public sealed record LiveCounters(double EventsPerSecond, long Accepted, long DeadLetters, long Late, bool Fault);

/// <summary>In one process: the pipeline's own non-waiting door, its dead-letter store and replay, its metrics.</summary>
public sealed class InMemoryBackend(IEventPipeline<SiteEvent> pipeline, FaultSwitch fault) : IDashboardBackend
{
    public ValueTask AdmitAsync(IReadOnlyList<SiteEvent> events, CancellationToken cancellationToken)
    {
        pipeline.Ingest(events is SiteEvent[] array ? array : [.. events]);
        return default;
    }

    public ValueTask RejectAsync(DeadLetterEntry entry, CancellationToken cancellationToken) => pipeline.DeadLetters.AddAsync(entry, cancellationToken);

    public async Task<IReadOnlyList<DeadLetterEntry>> ListDeadLettersAsync(int limit, CancellationToken cancellationToken) =>
        await pipeline.DeadLetters.ListAsync(pipeline.Name, limit, cancellationToken).ConfigureAwait(false);

    public async Task<long> CountDeadLettersAsync(CancellationToken cancellationToken) =>
        await pipeline.DeadLetters.CountAsync(pipeline.Name, cancellationToken).ConfigureAwait(false);

    public Task<ReplayResult> ReplayDeadLettersAsync(CancellationToken cancellationToken) => pipeline.ReplayDeadLettersAsync(cancellationToken: cancellationToken);

    public async ValueTask<LiveCounters> CountersAsync(CancellationToken cancellationToken)
    {
        var metrics = pipeline.GetMetrics();
        var deadLetters = await pipeline.DeadLetters.CountAsync(pipeline.Name, cancellationToken).ConfigureAwait(false);
        return new LiveCounters(metrics.ThroughputPerSecond, metrics.Accepted, deadLetters, metrics.Late, fault.Enabled);
    }

    public ValueTask SetFaultAsync(bool enabled, CancellationToken cancellationToken)
    {
        fault.Enabled = enabled;
        return default;
    }
}
