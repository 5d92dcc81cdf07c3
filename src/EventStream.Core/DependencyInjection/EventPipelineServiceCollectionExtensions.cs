using EventStream.DependencyInjection;
using System.Diagnostics.Metrics;
using EventStream;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers event pipelines in a host's service collection.</summary>
public static class EventPipelineServiceCollectionExtensions
{
    /// <summary>The name of the pipeline registered without one.</summary>
    public const string DefaultName = "default";

    /// <summary>Registers the pipeline named <see cref="DefaultName"/>; see <see cref="AddEventPipeline{T}(IServiceCollection, string, Func{PipelineBuilder{T, T}, IServiceProvider, IEventPipeline{T}})"/>.</summary>
    /// <typeparam name="T">The input event type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adds the stages and calls <c>Build()</c>.</param>
    /// <returns>A builder to configure the registration further.</returns>
    public static EventPipelineServiceBuilder<T> AddEventPipeline<T>(this IServiceCollection services, Func<PipelineBuilder<T, T>, IServiceProvider, IEventPipeline<T>> configure) =>
        services.AddEventPipeline(DefaultName, configure);

    /// <summary>
    /// Registers a named pipeline: a keyed singleton <see cref="IEventPipeline{T}"/> (key: the name; the first pipeline of a
    /// type is also registered without a key), its <see cref="PipelineOptions"/> as named options validated at start-up,
    /// and a hosted service that starts the pipeline with the host and drains it on shutdown (within
    /// <see cref="PipelineOptions.DrainTimeout"/>, then cancels it). The pipeline takes the host's
    /// <see cref="TimeProvider"/>, <see cref="ILoggerFactory"/>, <see cref="IMeterFactory"/> and
    /// <see cref="IDeadLetterStore"/> (keyed by the name, or unkeyed) unless the options set their own.
    /// </summary>
    /// <typeparam name="T">The input event type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The pipeline name, unique per service collection.</param>
    /// <param name="configure">Adds the stages to the builder it is given (made from the named options) and calls <c>Build()</c>.</param>
    /// <returns>A builder to configure the registration further.</returns>
    /// <exception cref="InvalidOperationException">A pipeline with this name is already registered.</exception>
    public static EventPipelineServiceBuilder<T> AddEventPipeline<T>(this IServiceCollection services, string name, Func<PipelineBuilder<T, T>, IServiceProvider, IEventPipeline<T>> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);

        var marker = new PipelineRegistration(name);
        if (services.Any(d => d.ServiceType == typeof(PipelineRegistration) && Equals(d.ImplementationInstance, marker)))
        {
            throw new InvalidOperationException($"An event pipeline named '{name}' is already registered; pipeline names must be unique.");
        }

        services.AddSingleton(marker);
        services.AddOptions<PipelineOptions>(name).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PipelineOptions>, PipelineOptionsValidator>());

        services.AddKeyedSingleton<IEventPipeline<T>>(name, (sp, _) =>
        {
            var options = sp.GetRequiredService<IOptionsMonitor<PipelineOptions>>().Get(name).Clone();
            if (ReferenceEquals(options.TimeProvider, TimeProvider.System) && sp.GetService<TimeProvider>() is { } time)
            {
                options.TimeProvider = time;
            }

            options.LoggerFactory ??= sp.GetService<ILoggerFactory>();
            options.MeterFactory ??= sp.GetService<IMeterFactory>();
            options.DeadLetterStore ??= sp.GetKeyedService<IDeadLetterStore>(name) ?? sp.GetService<IDeadLetterStore>();
            var builder = PipelineBuilder.Create<T>(name, options);
            if (sp.GetKeyedService<PipelineBuildHook>(name) is { } hook)
            {
                builder.Definition.BuildHook = definition => hook.Build(definition, sp);
            }

            return configure(builder, sp)
                ?? throw new InvalidOperationException($"The configure delegate of event pipeline '{name}' returned null; it must return builder...Build().");
        });
        services.TryAddSingleton(sp => sp.GetRequiredKeyedService<IEventPipeline<T>>(name));
        services.AddSingleton<IHostedService>(sp => new EventPipelineHostedService<T>(name, sp));
        return new EventPipelineServiceBuilder<T>(services, name);
    }

    private sealed record PipelineRegistration(string Name);
}
