using System.Collections.Concurrent;
using EventStream.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventStream.AspNetCore.Tests;

/// <summary>
/// A real Kestrel server on a loopback port with one pipeline (<see cref="PipelineEvent"/> in, a sink that records
/// what it gets, and can be held shut) behind <c>MapEventIngest</c>.
/// </summary>
internal sealed class IngestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private IngestServer(WebApplication app, HttpClient client, bool sinkOpen)
    {
        _app = app;
        Client = client;
        if (sinkOpen)
        {
            _open.SetResult();
        }
    }

    public HttpClient Client { get; }

    public ConcurrentQueue<PipelineEvent> Delivered { get; } = new();

    public IEventPipeline<PipelineEvent> Pipeline => _app.Services.GetRequiredService<IEventPipeline<PipelineEvent>>();

    public static async Task<IngestServer> StartAsync(
        Action<EventIngestOptions<PipelineEvent>>? ingest = null,
        Action<PipelineOptions>? pipeline = null,
        InMemoryDeadLetterStoreOptions? store = null,
        bool sinkOpen = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IDeadLetterStore>(new InMemoryDeadLetterStore(store ?? new InMemoryDeadLetterStoreOptions()));
        IngestServer? server = null;
        builder.Services.AddEventPipeline<PipelineEvent>("events", (p, _) => p
                .Sink("record", async (e, ct) =>
                {
                    await server!._open.Task.WaitAsync(ct);
                    server.Delivered.Enqueue(e);
                })
                .Build())
            .ConfigureOptions(o => pipeline?.Invoke(o));
        var app = builder.Build();
        app.MapEventIngest("/events", ingest);
        await app.StartAsync();
        server = new IngestServer(app, new HttpClient { BaseAddress = new Uri(app.Urls.First()) }, sinkOpen);
        return server;
    }

    public void OpenSink() => _open.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        OpenSink();
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
