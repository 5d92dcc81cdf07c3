using EventStream;
using EventStream.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the HTTP door of a registered EventStream pipeline.</summary>
public static class EventIngestEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST pattern</c> to a registered pipeline: the body is a JSON array of <typeparamref name="T"/>
    /// (<c>application/json</c>) or one per line (<c>application/x-ndjson</c>).
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item><description>202 with an <see cref="EventIngestResult"/>: the usable elements are admitted together
    /// (<see cref="IEventPipeline{T}.Ingest"/>); each bad one is dead-lettered with its error and (a bounded prefix of) its raw text.</description></item>
    /// <item><description>400 when no element is usable, when more than <see cref="EventIngestOptions{T}.MaxRejected"/> are bad, or when the body is not
    /// a JSON array (the problem says where); nothing is admitted.</description></item>
    /// <item><description>413 when the body passes <see cref="EventIngestOptions{T}.MaxBodyBytes"/> (refused while reading), or when the batch has more
    /// events than the pipeline's <see cref="PipelineOptions.BackpressureThreshold"/> lets in at once (it could never fit).</description></item>
    /// <item><description>415 for another content type or a charset other than UTF-8.</description></item>
    /// <item><description>429 with <c>Retry-After</c> (whole seconds, rounded up) while the pipeline is full (<see cref="BackpressureException"/>).</description></item>
    /// <item><description>503 while the pipeline is stopping or stopped, or its dead-letter store is full (<see cref="DeadLetterStoreFullException"/>) or fails.</description></item>
    /// </list>
    /// Every error has a problem-details body. The endpoint is as open as you make it: chain <c>RequireAuthorization</c>,
    /// <c>RequireRateLimiting</c> or filters on the returned builder.
    /// </remarks>
    /// <typeparam name="T">The event type; <see cref="PipelineEvent"/> for the library's envelope.</typeparam>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route pattern.</param>
    /// <param name="configure">Sets the endpoint's options.</param>
    /// <returns>The endpoint's convention builder (as <c>MapHealthChecks</c> returns), for authorization, rate limiting and filters.</returns>
    /// <exception cref="ArgumentException">An option is out of range (every problem is named).</exception>
    public static IEndpointConventionBuilder MapEventIngest<T>(this IEndpointRouteBuilder endpoints, string pattern, Action<EventIngestOptions<T>>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        var options = new EventIngestOptions<T>();
        configure?.Invoke(options);
        var problems = options.Problems().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException($"MapEventIngest(\"{pattern}\"): {string.Join("; ", problems)}.", nameof(configure));
        }

        var door = new IngestDoor<T>(options, endpoints.ServiceProvider);

        // A RequestDelegate, not a Delegate: no reflection-built handler, so the endpoint stays trimming- and AOT-safe
        // (the app's request-delegate generator does not see calls made inside a library).
        // The metadata a RequestDelegate lacks, so that OpenAPI documents (WithOpenApi, AddOpenApi) show the door.
        return endpoints.MapPost(pattern, async context =>
            {
                var result = await door.HandleAsync(context).ConfigureAwait(false);
                await result.ExecuteAsync(context).ConfigureAwait(false);
            })
            .WithMetadata([EndpointMetadata.Handler, 
                EndpointMetadata.Json<EventIngestResult>(StatusCodes.Status202Accepted),
                .. EndpointMetadata.Problems(400, 413, 415, 429, 503)]);
    }
}
