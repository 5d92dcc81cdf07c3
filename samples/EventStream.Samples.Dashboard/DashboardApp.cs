using EventStream.Redis;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using StackExchange.Redis;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// The dashboard application: options from the command line (<c>--simulate RATE</c>, <c>--redis HOST:PORT</c>, and with
/// Redis <c>--stream KEY</c>, <c>--group NAME</c>, <c>--consumer NAME</c>, <c>--partitions N</c>; <c>--max-body BYTES</c>,
/// <c>--capacity N</c>, <c>--dead-letter-capacity N</c> (in memory; posts get 503 once it is full), <c>--operator-token TOKEN</c> (see <see cref="OperatorAccess"/>), and ASP.NET Core's own <c>--urls</c>).
/// </summary>
public static class DashboardApp
{
    public const long DefaultMaxBodyBytes = 4 * 1024 * 1024;

    /// <summary>A batch with more bad elements than this is refused whole (400): they would only fill the dead letters.</summary>
    public const int MaxRejectedPerBatch = 100;

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory, WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot") });
        var config = builder.Configuration;
        var maxBody = config.GetValue("max-body", DefaultMaxBodyBytes);
        var capacity = config.GetValue("capacity", 100_000);
        var rate = config.GetValue("simulate", 0.0);
        var redis = config["redis"];

        builder.WebHost.ConfigureKestrel(o => o.Limits.MaxRequestBodySize = maxBody);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<FaultSwitch>();
        if (string.IsNullOrWhiteSpace(redis))
        {
            builder.Services.AddSingleton(sp => new LiveState(sp.GetRequiredService<TimeProvider>()));
            builder.Services.AddDashboardPipeline(capacity, deadLetterCapacity: config.GetValue("dead-letter-capacity", 100_000));
            builder.Services.AddSingleton<IDashboardBackend>(sp => new InMemoryBackend(sp.GetRequiredService<IEventPipeline<SiteEvent>>(), sp.GetRequiredService<FaultSwitch>()));
        }
        else
        {
            AddRedis(builder.Services, config, redis, capacity);
        }

        builder.Services.AddSingleton<IIngress>(sp => sp.GetRequiredService<IDashboardBackend>());
        if (rate > 0)
        {
            builder.Services.AddHostedService(sp => new Simulator(sp.GetRequiredService<IIngress>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<Simulator>>(), rate));
        }

        builder.Services.AddProblemDetails();
        builder.Services.AddOperatorAccess(config["operator-token"]);
        var app = builder.Build();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseAuthentication();
        app.UseAuthorization();
        MapApi(app);
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
        services.AddDashboardPipeline(capacity, partitioned: true).UseRedis(redis, o =>
        {
            o.KeyPrefix = DashboardRedis.KeyPrefix;
            o.Partitioned = partitioned;
        });
        services.AddSingleton(sp => new RedisBackend(
            sp.GetRequiredKeyedService<IConnectionMultiplexer>(redis),
            settings,
            sp.GetRequiredService<IEventPipeline<SiteEvent>>(),
            sp.GetRequiredService<FaultSwitch>(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IDashboardBackend>(sp => sp.GetRequiredService<RedisBackend>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisBackend>());
        services.AddSingleton(sp => new CommittedFigures(
            sp.GetRequiredKeyedService<IConnectionMultiplexer>(redis),
            settings,
            sp.GetRequiredService<LiveState>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<CommittedFigures>>()));
        services.AddHostedService(sp => sp.GetRequiredService<CommittedFigures>());
    }

    private static void MapApi(WebApplication app)
    {
        app.MapPost("/api/events", PostEventsAsync);

        app.MapGet("/api/live", (LiveState live, IDashboardBackend backend, TimeProvider time, IHostApplicationLifetime lifetime, CancellationToken ct) =>
            TypedResults.ServerSentEvents(LiveAsync(live, backend, time, lifetime.ApplicationStopping, ct)));

        app.MapGet("/api/dead-letters", async (IDashboardBackend backend, CancellationToken ct) =>
        {
            var items = await backend.ListDeadLettersAsync(100, ct);
            var count = await backend.CountDeadLettersAsync(ct);
            return TypedResults.Ok(new
            {
                count,
                items = items.Select(d => new
                {
                    id = d.Id,
                    stage = d.Stage,
                    reason = d.Reason.ToString(),
                    error = d.ExceptionType is null ? d.Message : $"{d.ExceptionType}: {d.Message}",
                    attempts = d.Attempts,
                    lastFailure = d.LastFailure,
                    @event = d.Event,
                }),
            });
        }).RequireAuthorization(OperatorAccess.Policy);

        app.MapPost("/api/dead-letters/replay", async Task<IResult> (IDashboardBackend backend, CancellationToken ct) =>
        {
            ReplayResult result;
            try
            {
                result = await backend.ReplayDeadLettersAsync(ct);
            }
            catch (InvalidOperationException ex)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "A replay is running", detail: ex.Message);
            }

            var remaining = await backend.CountDeadLettersAsync(ct);
            return TypedResults.Ok(new { replayed = result.Replayed, failedAgain = result.FailedAgain, skipped = result.Skipped, remaining });
        }).RequireAuthorization(OperatorAccess.Policy);

        app.MapGet("/api/metrics", (IEventPipeline<SiteEvent> pipeline) => TypedResults.Ok(pipeline.GetMetrics()));

        app.MapPost("/api/fault", async (FaultRequest request, IDashboardBackend backend, CancellationToken ct) =>
        {
            await backend.SetFaultAsync(request.Enabled, ct);
            return TypedResults.NoContent();
        }).RequireAuthorization(OperatorAccess.Policy);
    }

    /// <summary>
    /// 202 with the count for an admitted batch (bad elements dead-lettered, listed in <c>rejected</c>); 400 with problem
    /// details naming each bad element when the body is not a JSON array or no element is usable; 413 over the size limit
    /// (Kestrel); 429 with Retry-After when the pipeline is full.
    /// </summary>
    private static async Task<IResult> PostEventsAsync(HttpRequest request, IDashboardBackend backend, TimeProvider time, CancellationToken ct)
    {
        var limit = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        if (request.ContentLength is { } length && limit is { } max && length > max)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Body too large", detail: $"The body is {length} bytes; the limit is {max}.");
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct);
        }
        catch (JsonException ex)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The body is not valid JSON", detail: ex.Message);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Expected a JSON array of events", detail: $"The body is a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}.");
            }

            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var good = new List<SiteEvent>();
            var bad = new List<(int Index, string Error, string Json)>();
            var index = 0;
            foreach (var element in document.RootElement.EnumerateArray())
            {
                if (SiteEventParser.TryParse(element, now, out var parsed, out var error))
                {
                    good.Add(parsed!);
                }
                else
                {
                    bad.Add((index, error, element.GetRawText()));
                }

                index++;
            }

            var rejected = bad.Select(b => new RejectedElement(b.Index, b.Error)).ToList();
            if ((good.Count == 0 && bad.Count > 0) || bad.Count > MaxRejectedPerBatch)
            {
                var title = good.Count == 0 ? "No usable event in the batch" : $"{bad.Count} bad elements: more than {MaxRejectedPerBatch} in one batch, so none is admitted";
                var shown = rejected.Take(MaxRejectedPerBatch).ToList();
                var problem = TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: title, detail: string.Join("; ", shown.Select(r => $"element {r.Index}: {r.Error}")));
                problem.ProblemDetails.Extensions["errors"] = shown;
                return problem;
            }

            try
            {
                await backend.AdmitAsync(good, ct);
            }
            catch (DeadLetterStoreFullException ex)
            {
                // Not backpressure: retrying does not help until an operator replays or removes dead letters.
                return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The dead-letter store is full", detail: ex.Message);
            }
            catch (BackpressureException ex)
            {
                var seconds = Math.Max(1, (int)Math.Ceiling(ex.RetryAfter.TotalSeconds));
                request.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "The pipeline is full", detail: ex.Message);
            }

            // Admitted with its bad elements: those are dead-lettered with the reason, nothing is dropped — also when
            // the client goes away now (the good ones are in; a retry would count them twice).
            foreach (var (badIndex, error, json) in bad)
            {
                await backend.RejectAsync(new DeadLetterEntry
                {
                    Id = Guid.NewGuid().ToString("N"),
                    Pipeline = DashboardPipeline.Name,
                    Stage = "http",
                    Reason = DeadLetterReason.Failed,
                    ExceptionType = "InvalidEvent",
                    Message = $"element {badIndex}: {error}",
                    Attempts = 1,
                    FirstFailure = time.GetUtcNow(),
                    LastFailure = time.GetUtcNow(),
                    Event = json,
                }, CancellationToken.None);
            }

            return TypedResults.Json(new PostResult(good.Count, rejected), statusCode: StatusCodes.Status202Accepted);
        }
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
            yield return live.Snapshot(c.EventsPerSecond, c.Accepted, c.DeadLetters, c.Late, c.Fault);
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

public sealed record FaultRequest(bool Enabled);

public sealed record RejectedElement(int Index, string Error);

public sealed record PostResult(int Accepted, IReadOnlyList<RejectedElement> Rejected);
