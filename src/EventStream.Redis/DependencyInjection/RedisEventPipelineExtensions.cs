using EventStream.Redis.Partitions;
using EventStream.DependencyInjection;
using EventStream;
using EventStream.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Puts a registered event pipeline on Redis.</summary>
public static class RedisEventPipelineExtensions
{
    /// <summary>
    /// Puts the pipeline's dead letters in Redis (<see cref="RedisDeadLetterStore"/>: listed, counted and replayed from
    /// any process) and, when <see cref="RedisPipelineOptions.Source"/> names a stream, feeds the pipeline from it through
    /// a consumer group (<see cref="RedisStreamSource{T}"/>, started and stopped with the host, stopped before the pipeline
    /// drains). One <see cref="IConnectionMultiplexer"/> per configuration string is shared by the whole application.
    /// </summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="builder">The pipeline registration from <c>AddEventPipeline</c>.</param>
    /// <param name="configuration">A StackExchange.Redis configuration string: <c>host:port[,password=…][,ssl=true][,connectTimeout=…]</c>.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The same registration, for chaining.</returns>
    /// <exception cref="ArgumentException">The configuration string or the options are invalid (checked here, at registration).</exception>
    public static EventPipelineServiceBuilder<T> UseRedis<T>(this EventPipelineServiceBuilder<T> builder, string configuration, Action<RedisPipelineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        RedisConnections.Register(builder.Services, configuration, $"Event pipeline '{builder.Name}'");

        var options = new RedisPipelineOptions();
        if (string.IsNullOrEmpty(options.Source.Group))
        {
            options.Source.Group = builder.Name;
        }

        configure?.Invoke(options);
        var name = builder.Name;
        var services = builder.Services;
        services.AddKeyedSingleton<IDeadLetterStore>(name, (sp, _) => new RedisDeadLetterStore(
            sp.GetRequiredKeyedService<IConnectionMultiplexer>(configuration),
            new RedisDeadLetterStoreOptions { KeyPrefix = options.KeyPrefix }));

        if (options.Partitioned is { } partitioned)
        {
            if (!string.IsNullOrWhiteSpace(options.Source.Stream))
            {
                throw new ArgumentException($"Event pipeline '{name}': set RedisPipelineOptions.Partitioned or Source.Stream, not both (a partitioned pipeline reads its stream itself).", nameof(configure));
            }

            partitioned.KeyPrefix = options.KeyPrefix;
            if (string.IsNullOrWhiteSpace(partitioned.Group))
            {
                partitioned.Group = name;
            }

            var problems = partitioned.Validate();
            if (problems.Count > 0)
            {
                throw new ArgumentException($"Event pipeline '{name}': RedisPipelineOptions.Partitioned: " + string.Join("; ", problems) + ".", nameof(configure));
            }

            services.AddKeyedSingleton(name, new PipelineBuildHook((definition, sp) =>
            {
                var connection = sp.GetRequiredKeyedService<IConnectionMultiplexer>(configuration);
                var logger = sp.GetService<ILoggerFactory>()?.CreateLogger($"EventStream.Redis.Partitions.{name}");
                var worker = new PartitionedWorker<T>(connection, definition, partitioned, logger);
                return new PartitionedEventPipeline<T>(
                    worker,
                    name,
                    partitioned.Stream,
                    (max, ct) => RedisPartitionedPipeline.ReplayDeadLettersAsync(connection, partitioned, max, ct),
                    logger,
                    sp.GetService<IHostApplicationLifetime>());
            }));
            return builder;
        }

        if (!string.IsNullOrWhiteSpace(options.Source.Stream))
        {
            options.Source.KeyPrefix = options.KeyPrefix;
            var problems = options.Source.Problems();
            if (problems.Count > 0)
            {
                throw new ArgumentException($"Event pipeline '{name}': RedisPipelineOptions.Source: " + string.Join("; ", problems) + ".", nameof(configure));
            }

            services.AddSingleton<IHostedService>(sp => new RedisStreamSourceService<T>(
                new RedisStreamSource<T>(sp.GetRequiredKeyedService<IConnectionMultiplexer>(configuration), sp.GetRequiredKeyedService<IEventPipeline<T>>(name), options.Source),
                sp.GetRequiredService<IOptionsMonitor<PipelineOptions>>().Get(name).DrainTimeout,
                sp.GetService<ILoggerFactory>()?.CreateLogger(typeof(RedisStreamSource<T>).FullName ?? "EventStream.Redis.RedisStreamSource") ?? NullLogger.Instance,
                sp.GetService<IHostApplicationLifetime>(),
                $"Event pipeline '{name}': the Redis stream source of '{options.Source.Stream}' (group '{options.Source.Group}')"));
        }

        return builder;
    }

    /// <summary>
    /// Runs the source for the host's lifetime; registered after the pipeline, so it stops (and checkpoints) first. A
    /// source that fails (a key of the wrong type, a dead-letter store that is full, …) is logged and stops the host,
    /// as a failing <c>BackgroundService</c> does: consumption must not end unnoticed.
    /// </summary>
    private sealed class RedisStreamSourceService<T>(RedisStreamSource<T> source, TimeSpan drainTimeout, ILogger logger, IHostApplicationLifetime? lifetime, string what) : IHostedService, IDisposable
    {
        private static readonly Action<ILogger, string, Exception?> Failed = LoggerMessage.Define<string>(
            LogLevel.Critical, new EventId(1, "RedisStreamSourceFailed"), "{Source} failed and stopped reading; stopping the host.");

        private readonly CancellationTokenSource _stop = new();
        private Task? _run;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _run = Task.Run(RunAsync, CancellationToken.None);
            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            if (_run is not null)
            {
                await _run.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        public void Dispose() => _stop.Dispose();

        private async Task RunAsync()
        {
            try
            {
                await source.RunAsync(_stop.Token, drainTimeout).ConfigureAwait(false);
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                Failed(logger, what, ex);
                lifetime?.StopApplication();
            }
        }
    }
}
