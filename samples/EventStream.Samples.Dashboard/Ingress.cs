namespace EventStream.Samples.Dashboard;

/// <summary>Where admitted events go: straight into the pipeline (in memory), or to the Redis Stream the pipeline reads.</summary>
public interface IIngress
{
    /// <summary>Admits the whole batch or throws <see cref="BackpressureException"/> (nothing admitted).</summary>
    ValueTask AdmitAsync(IReadOnlyList<SiteEvent> events, CancellationToken cancellationToken);
}
