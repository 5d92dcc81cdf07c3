using System.Globalization;
using EventStream.Redis.Streams;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventStream.Redis.HealthChecks;

/// <summary>What the Redis health checks share: Redis's answer within the timeout, or the failure status saying why not.</summary>
internal static class RedisHealthProbe
{
    /// <summary>
    /// Runs <paramref name="read"/> within <see cref="RedisHealthCheckOptions.Timeout"/>; a timeout or any failure but
    /// the probe's own cancellation comes back as the failure result (the reading's result is then default).
    /// </summary>
    public static async Task<(T? Value, HealthCheckResult? Failure)> ReadAsync<T>(
        Func<Task<T>> read, RedisHealthCheckOptions options, HealthCheckContext context, string what, Dictionary<string, object> data, CancellationToken cancellationToken)
    {
        try
        {
            return (await read().WaitAsync(options.Timeout, options.TimeProvider, cancellationToken).ConfigureAwait(false), null);
        }
        catch (TimeoutException ex)
        {
            data["error"] = ex.GetType().Name;
            return (default, new HealthCheckResult(
                context.Registration.FailureStatus,
                string.Create(CultureInfo.InvariantCulture, $"Redis did not answer within {options.Timeout.TotalSeconds:0.###} s reading {what}: {ex.Message}"),
                ex,
                data));
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            data["error"] = ex.GetType().Name;
            var why = RedisOutage.IsOutage(ex) ? "Redis cannot be reached" : "Redis could not be read";
            return (default, new HealthCheckResult(context.Registration.FailureStatus, $"{why} ({what}): {ex.Message}", ex, data));
        }
    }
}
