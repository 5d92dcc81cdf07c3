using EventStream.Redis;
using System.Runtime.CompilerServices;
using StackExchange.Redis;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// The dashboard application: options from the command line (<c>--simulate RATE</c>, <c>--redis HOST:PORT</c>, and with
/// Redis <c>--stream KEY</c>, <c>--group NAME</c>, <c>--consumer NAME</c>, <c>--partitions N</c>; <c>--max-body BYTES</c>,
/// <c>--capacity N</c>, <c>--dead-letter-capacity N</c> (in memory; posts get 503 once it is full), and ASP.NET Core's
/// own <c>--urls</c>) and configuration (<c>Dashboard:ApiKey</c>, see <see cref="ApiKeyAuthentication"/>;
/// <c>Dashboard:RateLimit:*</c>, see <see cref="IngestRateLimit"/>).
/// </summary>
/// <remarks>
/// The HTTP API is the EventStream.AspNetCore package's: <c>POST /api/events</c> (<c>MapEventIngest</c>, the
/// <see cref="PipelineEvent"/> envelope as a JSON array or NDJSON, rate limited per client address), <c>/api/dead-letters</c>
/// (<c>MapDeadLetters</c>: list, <c>replay</c>, <c>discard</c>; API key) and <c>/healthz</c> (the pipeline's health check);
/// the page's own: <c>/api/live</c> (the figures, server-sent events), <c>/api/metrics</c> and <c>/api/fault</c> (API key).
/// </remarks>
public static class DashboardApp
{
    /// <summary>The default body limit of <c>POST /api/events</c>.</summary>
    public const long DefaultMaxBodyBytes = 4 * 1024 * 1024;

    /// <summary>With <c>--redis</c>, how long one Redis command may take before the request that needed it gets 503.</summary>
    public static readonly TimeSpan RedisTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Builds the application.</summary>
    /// <param name="args">The command line.</param>
    /// <returns>The application, not started.</returns>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory, WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot") });
        var config = builder.Configuration;
        var maxBody = config.GetValue("max-body", DefaultMaxBodyBytes);
        var capacity = config.GetValue("capacity", 100_000);
        var deadLetterCapacity = config.GetValue("dead-letter-capacity", 100_000);
        var rate = config.GetValue("simulate", 0.0);
        var redis = config["redis"];

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<FaultSwitch>();
        if (string.IsNullOrWhiteSpace(redis))
        {
            builder.Services.AddSingleton(sp => new LiveState(sp.GetRequiredService<TimeProvider>()));
            builder.Services.AddDashboardPipeline(capacity, deadLetterCapacity: deadLetterCapacity);
            builder.Services.AddKeyedSingleton(DashboardPipeline.ApiKey, (sp, _) => sp.GetRequiredKeyedService<IEventPipeline<PipelineEvent>>(DashboardPipeline.Name));
            builder.Services.AddSingleton<IDashboardBackend>(sp => new InMemoryBackend(sp.GetRequiredKeyedService<IEventPipeline<PipelineEvent>>(DashboardPipeline.Name), sp.GetRequiredService<FaultSwitch>()));
        }
        else
        {
            AddRedis(builder.Services, config, redis, capacity);
        }

        if (rate > 0)
        {
            builder.Services.AddHostedService(sp => new Simulator(sp.GetRequiredKeyedService<IEventPipeline<PipelineEvent>>(DashboardPipeline.ApiKey), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<Simulator>>(), rate));
        }

        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<RedisOutageHandler>();
        builder.Services.AddApiKeyAuthentication(config[ApiKeyAuthentication.ConfigurationKey]);
        builder.Services.AddIngestRateLimit(config);
        builder.Services.AddHealthChecks().AddEventPipelineHealthCheck<PipelineEvent>(DashboardPipeline.ApiKey, o => o.DeadLetterCapacity = string.IsNullOrWhiteSpace(redis) ? deadLetterCapacity : null, name: DashboardPipeline.Name);
        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        MapApi(app, maxBody);
        return app;
    }

    /// <summary>
    /// Redis: the pipeline runs partitioned over one input stream (<c>--stream</c>) as one computation (<c>--group</c>,
    /// the same on every instance by default, so that they share its partitions; each instance is one of its workers,
    /// <c>--consumer</c> names it). The page's events and the simulator's are published into the stream; every instance
    /// shows the figures of all partitions, read from the committed results (<see cref="CommittedFigures"/>).
    /// </summary>
    private static void AddRedis(IServiceCollection services, ConfigurationManager config, string redis, int capacity)
    {
        var partitioned = new PartitionedOptions
        {
            Stream = config["stream"] is { Length: > 0 } stream ? stream : DashboardRedis.DefaultStream,
            Group = config["group"] is { Length: > 0 } group ? group : DashboardRedis.DefaultGroup,
            KeyPrefix = DashboardRedis.KeyPrefix, // UseRedis sets it too, but the settings below name keys with it first
            Partitions = config.GetValue("partitions", 16),
            CommitInterval = DashboardRedis.CommitInterval,
            Retention = DashboardRedis.Retention,
        };
        if (config["consumer"] is { Length: > 0 } consumer)
        {
            partitioned.Consumer = consumer;
        }

        var settings = new DashboardRedis(redis, partitioned, capacity);
        services.AddSingleton(settings);

        // Results of different partitions are committed by different instances, up to a commit interval apart (and read
        // here up to 100 ms later): a site still counts as current when its newest window trails the newest one by that.
        services.AddSingleton(sp => new LiveState(sp.GetRequiredService<TimeProvider>(), freshForMs: 1000 + (3 * (long)DashboardRedis.CommitInterval.TotalMilliseconds) + 500));
        // One connection for the app, registered before UseRedis (which adds its own only when none is): commands fail at
        // once while Redis is away (no backlog to wait in) and time out after RedisTimeout, so a request that needs Redis
        // gets 503 at once (RedisOutageHandler), and the partitioned worker waits the outage out with back-off as usual.
        services.AddKeyedSingleton<IConnectionMultiplexer>(redis, (_, _) =>
        {
            var options = ConfigurationOptions.Parse(redis);
            options.AbortOnConnectFail = false; // start while Redis is down; reconnect in the background
            options.BacklogPolicy = BacklogPolicy.FailFast;
            options.AsyncTimeout = options.SyncTimeout = (int)RedisTimeout.TotalMilliseconds;
            return ConnectionMultiplexer.Connect(options);
        });
        services.AddDashboardPipeline(capacity, partitioned: true).UseRedis(redis, o =>
        {
            o.KeyPrefix = DashboardRedis.KeyPrefix;
            o.Partitioned = partitioned;
        });
        services.AddSingleton(sp => new RedisBackend(
            sp.GetRequiredKeyedService<IConnectionMultiplexer>(redis),
            settings,
            sp.GetRequiredKeyedService<IEventPipeline<PipelineEvent>>(DashboardPipeline.Name),
            sp.GetRequiredService<FaultSwitch>(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IDashboardBackend>(sp => sp.GetRequiredService<RedisBackend>());
        services.AddKeyedSingleton<IEventPipeline<PipelineEvent>>(DashboardPipeline.ApiKey, (sp, _) => sp.GetRequiredService<RedisBackend>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisBackend>());
        services.AddSingleton(sp => new CommittedFigures(
            sp.GetRequiredKeyedService<IConnectionMultiplexer>(redis),
            settings,
            sp.GetRequiredService<LiveState>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<CommittedFigures>>()));
        services.AddHostedService(sp => sp.GetRequiredService<CommittedFigures>());
    }

    private static void MapApi(WebApplication app, long maxBody)
    {
        var time = app.Services.GetRequiredService<TimeProvider>();
        app.MapEventIngest<PipelineEvent>("/api/events", door =>
            {
                door.PipelineName = DashboardPipeline.ApiKey;
                door.MaxBodyBytes = maxBody;
                door.Refuse = e => DashboardPipeline.Refuse(e, time.GetUtcNow().ToUnixTimeMilliseconds());
                door.Validate = e => PageViews.Validate(e, time.GetUtcNow().ToUnixTimeMilliseconds());
            })
            .RequireRateLimiting(IngestRateLimit.Policy);

        app.MapDeadLetters<PipelineEvent>("/api/dead-letters", DashboardPipeline.ApiKey, ApiKeyAuthentication.Policy);

        app.MapHealthChecks("/healthz");

        app.MapGet("/api/live", (LiveState live, IDashboardBackend backend, IHostApplicationLifetime lifetime, CancellationToken ct) =>
            TypedResults.ServerSentEvents(LiveAsync(live, backend, time, lifetime.ApplicationStopping, ct)));

        app.MapGet("/api/metrics", ([FromKeyedServices(DashboardPipeline.ApiKey)] IEventPipeline<PipelineEvent> pipeline) => TypedResults.Ok(pipeline.GetMetrics()));

        app.MapPost("/api/fault", async (FaultRequest request, IDashboardBackend backend, CancellationToken ct) =>
        {
            await backend.SetFaultAsync(request.Enabled, ct);
            return TypedResults.NoContent();
        }).RequireAuthorization(ApiKeyAuthentication.Policy);
    }

    /// <summary>The live figures four times a second (the page shows them at once; windows slide every second).</summary>
    /// <remarks>Ends when the client goes away or the application stops (an open page must not hold up shutdown).</remarks>
    private static async IAsyncEnumerable<LiveSnapshot> LiveAsync(LiveState live, IDashboardBackend backend, TimeProvider time, CancellationToken stopping, [EnumeratorCancellation] CancellationToken aborted)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(stopping, aborted);
        var ct = both.Token;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250), time);
        do
        {
            var c = await backend.CountersAsync(ct);
            yield return live.Snapshot(c);
        }
        while (await WaitAsync(timer, ct));

        static async ValueTask<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
        {
            try
            {
                return await timer.WaitForNextTickAsync(ct);
            }
            catch (OperationCanceledException)
            {
                return false; // the stream simply ends
            }
        }
    }
}

/// <summary>The body of <c>POST /api/fault</c>.</summary>
/// <param name="Enabled">Whether the demo fault is on.</param>
public sealed record FaultRequest(bool Enabled);
