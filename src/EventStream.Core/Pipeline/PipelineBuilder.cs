namespace EventStream;

/// <summary>Starts a pipeline definition.</summary>
public static class PipelineBuilder
{
    /// <summary>Starts a pipeline that takes events of type <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The input event type.</typeparam>
    /// <param name="name">The pipeline name, used in metrics, logs and dead letters.</param>
    /// <param name="options">The pipeline options; <see langword="null"/> for the defaults. They are copied.</param>
    /// <returns>A builder to add stages to.</returns>
    public static PipelineBuilder<T, T> Create<T>(string name, PipelineOptions? options = null) =>
        new(new PipelineDefinition(name, (options ?? new PipelineOptions()).Clone()), 0);

    /// <summary>Starts a pipeline that takes events of type <typeparamref name="T"/>, configuring its options in place.</summary>
    /// <typeparam name="T">The input event type.</typeparam>
    /// <param name="name">The pipeline name, used in metrics, logs and dead letters.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>A builder to add stages to.</returns>
    public static PipelineBuilder<T, T> Create<T>(string name, Action<PipelineOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new PipelineOptions();
        configure(options);
        return Create<T>(name, options);
    }
}
