namespace EventStream.DependencyInjection;

/// <summary>
/// A pipeline that a host stops rather than completes: its input has not ended. In one process the windows that fire
/// then say <see cref="WindowFiring.Stopped"/>; run partitioned, the stop commits, hands the partitions over
/// and fires nothing.
/// </summary>
internal interface IStoppablePipeline
{
    /// <summary>Stops the pipeline for a host shutdown, within <paramref name="cancellationToken"/>.</summary>
    Task StopAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Registered (keyed by the pipeline's name) by a backend that runs the pipeline its own way: the registration's
/// <c>Build()</c> then hands it the validated definition instead of assembling the pipeline in process.
/// </summary>
internal sealed class PipelineBuildHook(Func<PipelineDefinition, IServiceProvider, object> build)
{
    public object Build(PipelineDefinition definition, IServiceProvider services) => build(definition, services);
}
