using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace EventStream.AspNetCore;

/// <summary>
/// What the package's endpoints accept and answer, as endpoint metadata: they are <see cref="RequestDelegate"/>s (no
/// reflection, AOT-safe), which carry none of their own, so OpenAPI documents would show nothing without it.
/// </summary>
/// <remarks>
/// No <c>AcceptsMetadata</c>: with it the router itself would answer another content type with a bare 415, before the
/// endpoint could answer with problem details; what the bodies are is in the endpoints' documentation.
/// </remarks>
internal static class EndpointMetadata
{
    /// <summary>
    /// What the API explorer needs to list an endpoint at all: a handler method. The package's handlers are request
    /// delegates built inside it, so this stands for them: its one parameter (the <see cref="HttpContext"/>) is not a
    /// documented parameter, and the answers come from the response metadata beside it.
    /// </summary>
    public static System.Reflection.MethodInfo Handler { get; } = ((RequestDelegate)Handle).Method;

    public static ProducesResponseTypeMetadata Json<TBody>(int status) => new(status, typeof(TBody), ["application/json"]);

    public static ProducesResponseTypeMetadata EventStream(int status) => new(status, typeof(string), ["text/event-stream"]);

    /// <summary>A problem-details answer for each status.</summary>
    public static IEnumerable<ProducesResponseTypeMetadata> Problems(params int[] statuses) =>
        statuses.Select(status => new ProducesResponseTypeMetadata(status, typeof(ProblemDetails), ["application/problem+json"]));

    private static Task Handle(HttpContext context) => Task.CompletedTask;
}
