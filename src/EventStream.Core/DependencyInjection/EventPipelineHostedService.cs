using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EventStream.DependencyInjection;

/// <summary>Starts a pipeline with the host and drains it when the host stops.</summary>
internal sealed class EventPipelineHostedService<T> : IHostedService
{
    private readonly string _name;
    private readonly IServiceProvider _services;
    private IEventPipeline<T>? _pipeline;

    public EventPipelineHostedService(string name, IServiceProvider services)
    {
        _name = name;
        _services = services;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _pipeline = _services.GetRequiredKeyedService<IEventPipeline<T>>(_name);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_pipeline is null)
        {
            return;
        }

        var drainTimeout = _services.GetRequiredService<IOptionsMonitor<PipelineOptions>>().Get(_name).DrainTimeout;
        using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drain.CancelAfter(drainTimeout);
        try
        {
            // A host stop is not the end of the input: windows that fire now say so (WindowFiring.Stopped).
            await (_pipeline is IStoppablePipeline stoppable ? stoppable.StopAsync(drain.Token) : _pipeline.CompleteAsync(drain.Token)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Drain took too long: CompleteAsync cancelled the pipeline and dead-lettered what it still held.
        }
    }
}
