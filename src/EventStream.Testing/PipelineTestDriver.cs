namespace EventStream.Testing;

/// <summary>Starts a <see cref="PipelineTestDriver{TIn, TOut}"/>.</summary>
public static class PipelineTestDriver
{
    /// <summary>
    /// Builds <paramref name="pipeline"/> — your own builder, up to and including its sink, not yet built — on the driver's
    /// fake clock, and returns the driver that runs it step by step. The driver replaces the pipeline's
    /// <see cref="PipelineOptions.TimeProvider"/> with its clock; everything else (retries, capacities, the dead-letter store
    /// if you set one) stays as you configured it.
    /// </summary>
    /// <typeparam name="TIn">The pipeline's input type.</typeparam>
    /// <typeparam name="TOut">The sink's input type.</typeparam>
    /// <param name="pipeline">The builder, ending with <c>.Sink(...)</c>.</param>
    /// <param name="options">The driver's options; <see langword="null"/> for the defaults.</param>
    /// <returns>The driver; dispose it at the end of the test.</returns>
    /// <exception cref="PipelineConfigurationException">The definition has problems (as <see cref="PipelineBuilder{TIn, TOut}.Build"/> reports them).</exception>
    /// <exception cref="ArgumentException">The builder was already built, or is set up to run partitioned over Redis.</exception>
    public static PipelineTestDriver<TIn, TOut> Start<TIn, TOut>(PipelineBuilder<TIn, TOut> pipeline, PipelineTestDriverOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        return new PipelineTestDriver<TIn, TOut>(pipeline, options ?? new PipelineTestDriverOptions());
    }
}
