using EventStream.Redis.Streams;
using StackExchange.Redis;

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

/// <summary>
/// Redis: one stream entry per event; refused once this instance's consumer group lags past the threshold. The group
/// is made here when a post comes before the pipeline's source has made it (at start-up).
/// </summary>
public sealed class RedisIngress(RedisStreamProducer<SiteEvent> producer, IDatabase db, string stream, string group) : IIngress
{
    public async ValueTask AdmitAsync(IReadOnlyList<SiteEvent> events, CancellationToken cancellationToken)
    {
        try
        {
            await producer.PublishAsync(events, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex.Message.Contains("has no consumer group", StringComparison.Ordinal) || ex.Message.Contains("no such key", StringComparison.Ordinal))
        {
            try
            {
                await db.StreamCreateConsumerGroupAsync(stream, group, "0", createStream: true).ConfigureAwait(false);
            }
            catch (RedisServerException busy) when (busy.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
            {
                // made meanwhile by the source
            }

            await producer.PublishAsync(events, cancellationToken).ConfigureAwait(false);
        }
    }
}
