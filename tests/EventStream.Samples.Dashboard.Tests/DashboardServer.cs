using System.Net.Http.Json;
using System.Text.Json;
using EventStream.Samples.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace EventStream.Samples.Dashboard.Tests;

/// <summary>The dashboard app on a real Kestrel server bound to a free loopback port, with the API key <see cref="ApiKey"/>.</summary>
public sealed class DashboardServer : IAsyncDisposable
{
    /// <summary>The API key the servers are started with (<c>--Dashboard:ApiKey</c>) unless a test gives its own.</summary>
    public const string ApiKey = "test-key-0123456789";

    private int _disposed;

    private DashboardServer(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        Admin = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        Admin.DefaultRequestHeaders.Add(ApiKeyAuthentication.Header, ApiKey);
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    /// <summary>A client without the API key: what any website or visitor is.</summary>
    public HttpClient Client { get; }

    /// <summary>A client that sends the API key: the operator.</summary>
    public HttpClient Admin { get; }

    /// <summary>The pipeline the HTTP API admits into (in memory: the pipeline itself).</summary>
    public IEventPipeline<PipelineEvent> Pipeline => App.Services.GetRequiredKeyedService<IEventPipeline<PipelineEvent>>(DashboardPipeline.ApiKey);

    /// <summary>Starts the app with the test API key.</summary>
    public static Task<DashboardServer> StartAsync(params string[] args) => StartWithoutKeyAsync(["--Dashboard:ApiKey", ApiKey, .. args]);

    /// <summary>Starts the app with exactly these arguments (no API key unless they give one).</summary>
    public static async Task<DashboardServer> StartWithoutKeyAsync(params string[] args)
    {
        var app = DashboardApp.Build(["--urls", "http://127.0.0.1:0", .. args]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new DashboardServer(app, new Uri(address));
    }

    /// <summary>A page view in the library's envelope, as a site posts it.</summary>
    public static object View(string site, string user, string url, long? timestamp = null, string? id = null) =>
        new { id = id ?? Guid.NewGuid().ToString("N"), type = "pageview", source = site, timestamp = timestamp ?? Now(), data = new { url, userId = user } };

    public async Task<HttpResponseMessage> PostEventsAsync(object body) => await Client.PostAsJsonAsync("/api/events", body);

    public async Task<JsonElement> GetJsonAsync(string path) => await Client.GetFromJsonAsync<JsonElement>(path);

    public async Task<JsonElement> GetAdminJsonAsync(string path) => await Admin.GetFromJsonAsync<JsonElement>(path);

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
        Admin.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
