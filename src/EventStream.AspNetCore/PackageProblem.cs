using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace EventStream.AspNetCore;

/// <summary>
/// The problem-details answer of every endpoint of the package. Written by the application's
/// <see cref="IProblemDetailsService"/> when it has one (<c>AddProblemDetails</c>, with its customisations), else with the
/// package's source-generated metadata — so it needs no reflection, and a native AOT application gets its 4xx and 5xx
/// bodies instead of a 500 from a serializer that has no metadata for <see cref="ProblemDetails"/>.
/// </summary>
internal sealed class PackageProblem : IResult, IStatusCodeHttpResult, IContentTypeHttpResult
{
    private PackageProblem(ProblemDetails details) => Details = details;

    public ProblemDetails Details { get; }

    public int? StatusCode => Details.Status;

    public string ContentType => "application/problem+json";

    /// <summary>A problem with the framework's defaults for its status (<c>type</c> link, and a title when none is given).</summary>
    public static PackageProblem Of(int status, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        new(TypedResults.Problem(statusCode: status, title: title, detail: detail, extensions: extensions).ProblemDetails);

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = Details.Status ?? StatusCodes.Status500InternalServerError;
        if (httpContext.RequestServices.GetService<IProblemDetailsService>() is { } service
            && await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = Details }).ConfigureAwait(false))
        {
            return;
        }

        await httpContext.Response.WriteAsJsonAsync(Details, PackageJsonContext.Default.ProblemDetails, ContentType, httpContext.RequestAborted).ConfigureAwait(false);
    }
}
