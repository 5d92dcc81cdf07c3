using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace EventStream.Redis.HealthChecks;

/// <summary>
/// The health of a consumer group on a Redis stream (what <see cref="RedisStreamSource{T}"/> reads through), from one
/// <c>XINFO GROUPS</c>: <see cref="RedisHealthCheckOptions.LagStatus"/> while its lag passes the mark; the registration's
/// failure status when Redis does not answer in time or the group does not exist.
/// </summary>
internal sealed class RedisStreamGroupHealthCheck(IConnectionMultiplexer redis, string stream, string group, RedisHealthCheckOptions options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["stream"] = stream, ["group"] = group };
        var db = redis.GetDatabase();
        var (read, failure) = await RedisHealthProbe.ReadAsync(() => ReadAsync(db), options, context, $"group '{group}' of stream '{stream}'", data, cancellationToken).ConfigureAwait(false);
        if (failure is { } failed)
        {
            return failed;
        }

        if (read.Info is not { } info)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"Stream '{stream}' has no consumer group '{group}': nothing reads it (no consumer has started).", data: data);
        }

        data["lag"] = read.Lag;
        data["maxGroupLag"] = options.MaxGroupLag;
        data["pending"] = (long)info.PendingMessageCount;
        data["consumers"] = (long)info.ConsumerCount;
        data["entriesRead"] = info.EntriesRead ?? 0L;
        data["lastDeliveredId"] = info.LastDeliveredId ?? (object)string.Empty;
        data["lagFromLength"] = info.Lag is null; // Redis 7.0 cannot always tell the lag (after deletions): XLEN less what was read
        if (read.Lag > options.MaxGroupLag)
        {
            return new HealthCheckResult(
                options.LagStatus,
                string.Create(CultureInfo.InvariantCulture, $"Group '{group}' of stream '{stream}' lags {read.Lag} entries behind, more than {options.MaxGroupLag} ({info.PendingMessageCount} pending, {info.ConsumerCount} consumers)."),
                data: data);
        }

        return HealthCheckResult.Healthy(
            string.Create(CultureInfo.InvariantCulture, $"Group '{group}' of stream '{stream}' lags {read.Lag} entries ({info.PendingMessageCount} pending, {info.ConsumerCount} consumers)."),
            data);
    }

    private async Task<(StreamGroupInfo? Info, long Lag)> ReadAsync(IDatabase db)
    {
        if (!await db.KeyExistsAsync(stream).ConfigureAwait(false))
        {
            return (null, 0);
        }

        foreach (var info in await db.StreamGroupInfoAsync(stream).ConfigureAwait(false))
        {
            if (info.Name != group)
            {
                continue;
            }

            if (info.Lag is { } lag)
            {
                return (info, lag);
            }

            var length = await db.StreamLengthAsync(stream).ConfigureAwait(false);
            return (info, Math.Max(0, length - (info.EntriesRead ?? 0)));
        }

        return (null, 0);
    }
}
