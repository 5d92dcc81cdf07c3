using EventStream.Redis.Streams;

namespace EventStream.Samples.Dashboard;

/// <summary>Where admitted events go: straight into the pipeline (in memory), or to a Redis Stream the pipeline reads.</summary>
public interface IIngress
{
    /// <summary>Admits the whole batch or throws <see cref="BackpressureException"/> (nothing admitted).</summary>
    ValueTask AdmitAsync(IReadOnlyList<SiteEvent> events, CancellationToken cancellationToken);
}

/// <summary>In memory: the pipeline's non-waiting door.</summary>
public sealed class PipelineIngress(IEventPipeline<SiteEvent> pipeline) : IIngress
{
    public ValueTask AdmitAsync(IReadOnlyList<SiteEvent> events, CancellationToken cancellationToken)
    {
        pipeline.Ingest(events is SiteEvent[] array ? array : [.. events]);
        return default;
    }
}

/// <summary>Redis: one stream entry per event; refused once this instance's consumer group lags past the threshold.</summary>
public sealed class RedisIngress(RedisStreamProducer<SiteEvent> producer) : IIngress
{
    public async ValueTask AdmitAsync(IReadOnlyList<SiteEvent> events, CancellationToken cancellationToken) =>
        await producer.PublishAsync(events, cancellationToken).ConfigureAwait(false);
}
