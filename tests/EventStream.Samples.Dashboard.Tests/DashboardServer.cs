using System.Net.Http.Json;
using System.Text.Json;
using EventStream.Samples.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace EventStream.Samples.Dashboard.Tests;

/// <summary>The dashboard app on a real Kestrel server bound to a free loopback port.</summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private int _disposed;

    private DashboardServer(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    public HttpClient Client { get; }

    public IEventPipeline<SiteEvent> Pipeline => App.Services.GetRequiredService<IEventPipeline<SiteEvent>>();

    public static async Task<DashboardServer> StartAsync(params string[] args)
    {
        var app = DashboardApp.Build(["--urls", "http://127.0.0.1:0", .. args]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new DashboardServer(app, new Uri(address));
    }

    public async Task<HttpResponseMessage> PostEventsAsync(object body) => await Client.PostAsJsonAsync("/api/events", body);

    public async Task<JsonElement> GetJsonAsync(string path) => await Client.GetFromJsonAsync<JsonElement>(path);

    /// <summary>Waits until the pipeline holds nothing in flight.</summary>
    public Task DrainedAsync() => TestSupport.Eventually(() => Pipeline.GetMetrics().InFlight == 0, "the pipeline drains", timeoutMs: 20_000);

    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Stops the app (once: a test may stop an instance before the end of its scope).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
