using EventStream;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Configures a pipeline registered with <c>AddEventPipeline</c>; backends add their own extensions to it.</summary>
/// <typeparam name="T">The input event type.</typeparam>
public sealed class EventPipelineServiceBuilder<T>
{
    internal EventPipelineServiceBuilder(IServiceCollection services, string name)
    {
        Services = services;
        Name = name;
    }

    /// <summary>Gets the service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Gets the pipeline name (the options name and the service key).</summary>
    public string Name { get; }

    /// <summary>Configures the pipeline's options (after any configuration binding registered before).</summary>
    /// <param name="configure">Sets the options.</param>
    /// <returns>This builder.</returns>
    public EventPipelineServiceBuilder<T> ConfigureOptions(Action<PipelineOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(Name, configure);
        return this;
    }
}
