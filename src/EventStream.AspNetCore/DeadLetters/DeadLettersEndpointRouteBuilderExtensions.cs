using System.Text.Json;
using EventStream;
using EventStream.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the dead-letter administration of a registered pipeline: list, replay, discard.</summary>
public static class DeadLettersEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps, under <paramref name="pattern"/>: <c>GET</c> (the count and a page of entries oldest first, <c>?limit=</c> up
    /// to 1,000, default 100, and <c>?after=</c> the <c>next</c> of the page before), <c>POST replay</c> (<c>?max=</c>; what was replayed, what failed again) and <c>POST discard</c>
    /// (a <see cref="DeadLetterDiscardRequest"/>; each discarded entry counted as <c>Discarded</c> and logged).
    /// </summary>
    /// <remarks>
    /// Dead letters hold users' data and replay and discard change it, so the group requires authorization: the default
    /// policy (an authenticated user), or <paramref name="policy"/>. Configure authentication in the application; a
    /// caller without it is refused (401/403), never let in.
    /// </remarks>
    /// <typeparam name="T">The pipeline's event type.</typeparam>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The group's route prefix.</param>
    /// <param name="pipelineName">The registered pipeline's name; <see langword="null"/> for the one registered for <typeparamref name="T"/> without a key.</param>
    /// <param name="policy">The authorization policy; <see langword="null"/> for the default policy.</param>
    /// <returns>The group's builder, for further conventions (rate limiting, filters).</returns>
    public static RouteGroupBuilder MapDeadLetters<T>(this IEndpointRouteBuilder endpoints, string pattern, string? pipelineName = null, string? policy = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        var group = endpoints.MapGroup(pattern);
        _ = policy is null ? group.RequireAuthorization() : group.RequireAuthorization(policy);

        group.MapGet(string.Empty, context => Answer<T>(context, async (pipeline, ct) =>
        {
            var limit = IntQuery(context, "limit", 100, 1, 1_000);
            if (limit is null)
            {
                return Problem(StatusCodes.Status400BadRequest, "Bad limit", "limit must be a whole number from 1 to 1000.");
            }

            DeadLetterListPage listed;
            try
            {
                listed = await pipeline.DeadLetters.ListPageAsync(pipeline.Name, limit.Value, context.Request.Query["after"].FirstOrDefault(), ct).ConfigureAwait(false);
            }
            catch (ArgumentException ex) when (ex.ParamName == "after")
            {
                return Problem(StatusCodes.Status400BadRequest, "Bad after", ex.Message);
            }

            var count = await pipeline.DeadLetters.CountAsync(pipeline.Name, ct).ConfigureAwait(false);
            var page = new DeadLetterPage(count, [.. listed.Entries.Select(e => View(e, context.RequestServices))], listed.Next);
            return TypedResults.Json(page, PackageJsonContext.Default.DeadLetterPage);
        }, pipelineName)).WithMetadata([EndpointMetadata.Handler, EndpointMetadata.Json<DeadLetterPage>(StatusCodes.Status200OK), .. EndpointMetadata.Problems(400, 401, 403, 503)]);

        group.MapPost("replay", context => Answer<T>(context, async (pipeline, ct) =>
        {
            var max = IntQuery(context, "max", int.MaxValue, 1, int.MaxValue);
            if (max is null)
            {
                return Problem(StatusCodes.Status400BadRequest, "Bad max", "max must be a positive whole number.");
            }

            var result = await pipeline.ReplayDeadLettersAsync(max.Value, ct).ConfigureAwait(false);
            var remaining = await pipeline.DeadLetters.CountAsync(pipeline.Name, ct).ConfigureAwait(false);
            return TypedResults.Json(new DeadLetterReplayAnswer(result.Replayed, result.FailedAgain, result.Skipped, remaining), PackageJsonContext.Default.DeadLetterReplayAnswer);
        }, pipelineName)).WithMetadata([EndpointMetadata.Handler, EndpointMetadata.Json<DeadLetterReplayAnswer>(StatusCodes.Status200OK), .. EndpointMetadata.Problems(400, 401, 403, 501, 503)]);

        group.MapPost("discard", context => Answer<T>(context, async (pipeline, ct) =>
        {
            DeadLetterDiscardRequest? request;
            try
            {
                request = await context.Request.ReadFromJsonAsync(PackageJsonContext.Default.DeadLetterDiscardRequest, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                return Problem(StatusCodes.Status400BadRequest, "Bad discard request", ex.Message);
            }

            DeadLetterReason? reason = null;
            if (request?.Reason is { } text)
            {
                if (!Enum.TryParse<DeadLetterReason>(text, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || char.IsDigit(text[0]))
                {
                    return Problem(StatusCodes.Status400BadRequest, "Bad discard request", $"reason '{text}' is not one of failed, canceled, late.");
                }

                reason = parsed;
            }

            if (request is null || (request.Ids is null && reason is null && request.OlderThan is null))
            {
                return Problem(StatusCodes.Status400BadRequest, "Bad discard request", "Say which dead letters to discard: ids, reason and/or olderThan.");
            }

            var discarded = await pipeline.DiscardDeadLettersAsync(new DeadLetterDiscard { Ids = request.Ids, Reason = reason, OlderThan = request.OlderThan }, CancellationToken.None).ConfigureAwait(false);
            var remaining = await pipeline.DeadLetters.CountAsync(pipeline.Name, ct).ConfigureAwait(false);
            return TypedResults.Json(new DeadLetterDiscardAnswer(discarded, remaining), PackageJsonContext.Default.DeadLetterDiscardAnswer);
        }, pipelineName)).WithMetadata([EndpointMetadata.Handler, 
            EndpointMetadata.Json<DeadLetterDiscardAnswer>(StatusCodes.Status200OK),
            .. EndpointMetadata.Problems(400, 401, 403, 501, 503)]);

        return group;
    }

    private static async Task Answer<T>(HttpContext context, Func<IEventPipeline<T>, CancellationToken, Task<IResult>> handle, string? pipelineName)
    {
        var pipeline = pipelineName is null
            ? context.RequestServices.GetRequiredService<IEventPipeline<T>>()
            : context.RequestServices.GetRequiredKeyedService<IEventPipeline<T>>(pipelineName);
        IResult result;
        try
        {
            result = await handle(pipeline, context.RequestAborted).ConfigureAwait(false);
        }
        catch (NotSupportedException ex)
        {
            result = Problem(StatusCodes.Status501NotImplemented, "Not supported by this pipeline", ex.Message);
        }
#pragma warning disable CA1031 // A store that fails (Redis down) answers 503 with what it said, not an empty 500.
        catch (Exception ex) when (ex is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
#pragma warning restore CA1031
        {
            context.Response.Headers.RetryAfter = "1";
            result = Problem(StatusCodes.Status503ServiceUnavailable, "The dead-letter store is unavailable", ex.Message);
        }

        await result.ExecuteAsync(context).ConfigureAwait(false);
    }

    private static DeadLetterView View(DeadLetterEntry entry, IServiceProvider services) => new(
        entry.Id,
        entry.Stage,
        JsonNamingPolicy.CamelCase.ConvertName(entry.Reason.ToString()),
        entry.ExceptionType,
        entry.Message,
        entry.Attempts,
        entry.Replays,
        entry.FirstFailure,
        entry.LastFailure,
        entry.Event switch
        {
            null => null,
            string text => text,
            JsonElement json => json.GetRawText(),
            PipelineEvent e => JsonSerializer.Serialize(e, PackageJsonContext.Default.PipelineEvent),
            var other => Serialize(other, services),
        },
        System.Diagnostics.ActivityContext.TryParse(entry.TraceParent, null, out var trace) ? trace.TraceId.ToHexString() : null);

    private static string Serialize(object value, IServiceProvider services)
    {
        var json = services.GetService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>()?.Value.SerializerOptions;
        return json is not null && json.TryGetTypeInfo(value.GetType(), out var info)
            ? JsonSerializer.Serialize(value, info)
            : value.ToString() ?? string.Empty;
    }

    private static int? IntQuery(HttpContext context, string name, int fallback, int min, int max)
    {
        var text = context.Request.Query[name].ToString();
        if (text.Length == 0)
        {
            return fallback;
        }

        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value : null;
    }

    private static PackageProblem Problem(int status, string title, string detail) => PackageProblem.Of(status, title, detail);
}
