using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// The rate limit of <c>POST /api/events</c>, per client address (ASP.NET Core's rate limiter over
/// <see cref="System.Threading.RateLimiting"/>, applied with <c>RequireRateLimiting</c>): a fixed window of
/// <c>Dashboard:RateLimit:PermitLimit</c> requests (default 200) per <c>Dashboard:RateLimit:WindowSeconds</c> (default 1);
/// past it, 429 with <c>Retry-After</c> and a problem body. Not backpressure (that is the pipeline's own 429): this one
/// keeps a single client from taking the door for itself. In one process only: several instances behind a load
/// balancer each count on their own (a production deployment puts a shared limiter in front).
/// </summary>
public static class IngestRateLimit
{
    /// <summary>The policy's name.</summary>
    public const string Policy = "ingest-per-client";

    /// <summary>Registers the rate limiter with the policy.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">Where <c>Dashboard:RateLimit:*</c> is read from.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddIngestRateLimit(this IServiceCollection services, IConfiguration configuration)
    {
        var permits = configuration.GetValue("Dashboard:RateLimit:PermitLimit", 200);
        var window = TimeSpan.FromSeconds(configuration.GetValue("Dashboard:RateLimit:WindowSeconds", 1.0));
        return services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(Policy, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = window, QueueLimit = 0, AutoReplenishment = true }));
            o.OnRejected = async (context, cancellationToken) =>
            {
                var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)) : 1;
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context.HttpContext,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests from this address",
                        Detail = string.Create(CultureInfo.InvariantCulture, $"This address may post {permits} batches per {window.TotalSeconds:0.###} s; try again in {seconds} s."),
                    },
                }).ConfigureAwait(false);
            };
        });
    }
}
