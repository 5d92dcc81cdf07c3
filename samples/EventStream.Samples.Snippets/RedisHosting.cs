using EventStream;
using EventStream.Redis;
using Microsoft.Extensions.DependencyInjection;

/// <summary>The same computation as <see cref="ViewsPerUrl"/>, as a hosted pipeline: started and stopped with the host.</summary>
public static class RedisHosting
{
    public static IServiceCollection AddViewsPerUrl(this IServiceCollection services, string redisConfiguration)
    {
        services.AddSingleton<ViewStore>();
        services.AddEventPipeline<PageView>("views-per-url", (pipeline, provider) => pipeline
                .Window("per-url", new WindowOptions<PageView, string>
                {
                    Assigner = WindowAssigner.Tumbling(TimeSpan.FromMinutes(1)),
                    Key = view => view.Url,
                    Timestamp = view => view.Time.ToUnixTimeMilliseconds(),
                }, Aggregates.Count<PageView>())
                .Sink("store", provider.GetRequiredService<ViewStore>().UpsertAsync)
                .Build())
            .UseRedis(redisConfiguration, o => o.Partitioned = new PartitionedOptions { Stream = "clicks", Partitions = 16 });
        return services;
    }
}
