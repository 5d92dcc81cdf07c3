using EventStream;
using EventStream.AspNetCore.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds health checks of event pipelines registered with <c>AddEventPipeline</c>.</summary>
public static class EventPipelineHealthChecksBuilderExtensions
{
    /// <summary>The registration name used when none is given, followed by <c>-{pipelineName}</c> when a pipeline name is given.</summary>
    public const string DefaultName = "event-pipeline";

    /// <summary>
    /// Adds a health check of a registered event pipeline. It reports <paramref name="failureStatus"/> (default
    /// <see cref="HealthStatus.Unhealthy"/>) once the pipeline's <see cref="IEventPipeline{T}.Completion"/> has completed
    /// (faulted, cancelled, or completed while the application runs); <see cref="HealthStatus.Degraded"/> while its
    /// in-flight events, dead letters or watermark lag pass the marks of <see cref="EventPipelineHealthCheckOptions"/>
    /// (or its dead-letter store is full); <see cref="HealthStatus.Healthy"/> otherwise. The result's data carries the
    /// figures (<c>inFlight</c>, <c>backpressureThreshold</c>, <c>inFlightLimit</c>, <c>deadLetters</c>,
    /// <c>deadLetterStoreFull</c>, <c>watermarkLag</c>, <c>completion</c>, ...), its description the reasons. The options
    /// are named options (name: the registration name), validated at start-up.
    /// </summary>
    /// <typeparam name="T">The pipeline's input event type.</typeparam>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="pipelineName">The pipeline's name (its service key), or <see langword="null"/> for the first pipeline of <typeparamref name="T"/> registered.</param>
    /// <param name="configure">Sets the options of this check, or <see langword="null"/> for the defaults.</param>
    /// <param name="name">The health check's name; by default <see cref="DefaultName"/>, or <c>event-pipeline-{pipelineName}</c>.</param>
    /// <param name="failureStatus">The status reported when the pipeline has stopped or the check fails; <see langword="null"/> for <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter the check by (e.g. <c>ready</c>, <c>live</c>).</param>
    /// <param name="timeout">How long the check may take, or <see langword="null"/> for no timeout of its own.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddEventPipelineHealthCheck<T>(
        this IHealthChecksBuilder builder,
        string? pipelineName = null,
        Action<EventPipelineHealthCheckOptions>? configure = null,
        string? name = null,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (pipelineName is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(pipelineName);
        }

        name ??= pipelineName is null ? DefaultName : $"{DefaultName}-{pipelineName}";
        ArgumentException.ThrowIfNullOrWhiteSpace(name);

        var options = builder.Services.AddOptions<EventPipelineHealthCheckOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(
            o => !o.Validate().Any(),
            $"The options of health check '{name}' are not valid: see EventPipelineHealthCheckOptions (shares in (0, 1], capacity at least 1, positive timeout, no negative lag).")
            .ValidateOnStart();

        var checkName = name;
        return builder.Add(new HealthCheckRegistration(
            name,
            sp =>
            {
                var pipeline = pipelineName is null
                    ? sp.GetService<IEventPipeline<T>>() ?? throw new InvalidOperationException($"No event pipeline of {typeof(T).Name} is registered (AddEventPipeline<{typeof(T).Name}>) for health check '{checkName}'.")
                    : sp.GetKeyedService<IEventPipeline<T>>(pipelineName) ?? throw new InvalidOperationException($"No event pipeline of {typeof(T).Name} named '{pipelineName}' is registered for health check '{checkName}'.");
                var threshold = sp.GetRequiredService<IOptionsMonitor<PipelineOptions>>().Get(pipeline.Name).BackpressureThreshold;
                var checkOptions = sp.GetRequiredService<IOptionsMonitor<EventPipelineHealthCheckOptions>>().Get(checkName);
                return new EventPipelineHealthCheck<T>(pipeline, threshold, checkOptions, sp.GetService<IHostApplicationLifetime>());
            },
            failureStatus,
            tags,
            timeout));
    }
}
