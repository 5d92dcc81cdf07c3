using Microsoft.AspNetCore.Diagnostics;
using StackExchange.Redis;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// With <c>--redis</c>: a request that needed Redis while it is away (the connection is lost, or a command timed out)
/// gets 503 with <c>Retry-After</c> and a problem body, at once, instead of an empty 500 after the client's timeout.
/// The connection fails fast while it is down (see <see cref="DashboardApp"/>), so the answer comes within milliseconds;
/// a server that hangs is cut off by the command timeout (<see cref="DashboardApp.RedisTimeout"/>).
/// </summary>
public sealed partial class RedisOutageHandler(IProblemDetailsService problems, ILogger<RedisOutageHandler> logger) : IExceptionHandler
{
    /// <summary>What the client is told to wait before it tries again.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    /// <inheritdoc />
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not (RedisConnectionException or RedisTimeoutException) || httpContext.Response.HasStarted)
        {
            return false;
        }

        LogAway(logger, httpContext.Request.Path, exception.Message);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = ((int)RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Redis is unavailable",
                Detail = "The dashboard's Redis cannot be reached; nothing was admitted. Try again after Retry-After.",
            },
        }).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path}: answered 503, Redis is away ({Problem})")]
    private static partial void LogAway(ILogger logger, string path, string problem);
}
