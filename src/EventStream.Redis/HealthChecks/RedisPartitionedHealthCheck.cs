using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace EventStream.Redis.HealthChecks;

/// <summary>
/// The health of a partitioned computation, read from Redis (as <see cref="RedisPartitionedPipeline.ReadMetricsAsync"/>
/// does, from any process): <see cref="RedisHealthCheckOptions.LagStatus"/> while a partition has no live owner or lags
/// past the mark; the registration's failure status when Redis does not answer in time; the figures of every partition
/// in the data.
/// </summary>
internal sealed class RedisPartitionedHealthCheck(IConnectionMultiplexer redis, PartitionedOptions computation, RedisHealthCheckOptions options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["stream"] = computation.Stream,
            ["group"] = computation.Group,
            ["partitions"] = computation.Partitions,
        };

        // Lease expiry by the check's clock, the one the workers run on.
        var probe = new PartitionedOptions
        {
            Stream = computation.Stream,
            Group = computation.Group,
            KeyPrefix = computation.KeyPrefix,
            Partitions = computation.Partitions,
            TimeProvider = options.TimeProvider,
        };
        var (metrics, failure) = await RedisHealthProbe.ReadAsync(
            () => RedisPartitionedPipeline.ReadMetricsAsync(redis, probe), options, context, $"the partitions of '{computation.Group}' on stream '{computation.Stream}'", data, cancellationToken).ConfigureAwait(false);
        if (failure is { } failed)
        {
            return failed;
        }

        var withoutOwner = metrics!.Partitions.Where(p => !p.LeaseLive).Select(p => p.Partition).ToArray();
        var lagging = metrics.Partitions.Where(p => p.Lag > options.MaxPartitionLag).ToArray();
        var maxLag = metrics.Partitions.Select(p => p.Lag ?? TimeSpan.Zero).DefaultIfEmpty().Max();
        data["withoutLiveOwner"] = withoutOwner;
        data["lagging"] = lagging.Select(p => p.Partition).ToArray();
        data["maxLag"] = maxLag;
        data["maxPartitionLag"] = options.MaxPartitionLag;
        data["owners"] = metrics.Partitions.Where(p => p.LeaseLive && p.Owner is not null).Select(p => p.Owner!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        foreach (var partition in metrics.Partitions)
        {
            data[string.Create(CultureInfo.InvariantCulture, $"partition:{partition.Partition:D2}")] = partition;
        }

        var reasons = new List<string>();
        if (options.RequireLiveOwners && withoutOwner.Length > 0)
        {
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"{withoutOwner.Length} of {metrics.Partitions.Count} partitions have no live owner ({List(withoutOwner)}): their input waits until a worker takes them"));
        }

        if (lagging.Length > 0)
        {
            var worst = lagging.MaxBy(p => p.Lag)!;
            var shown = worst.Position == Partitions.PartitionCursor.Start ? "it has not committed yet" : $"{worst.Lag}";
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"{lagging.Length} partitions lag more than {options.MaxPartitionLag} behind the input ({List(lagging.Select(p => p.Partition))}; partition {worst.Partition}: {shown})"));
        }

        if (reasons.Count == 0)
        {
            return HealthCheckResult.Healthy(
                string.Create(CultureInfo.InvariantCulture, $"Partitioned computation '{computation.Group}' on stream '{computation.Stream}': {metrics.Partitions.Count} partitions owned, lag at most {maxLag}."),
                data);
        }

        return new HealthCheckResult(
            options.LagStatus,
            $"Partitioned computation '{computation.Group}' on stream '{computation.Stream}': {string.Join("; ", reasons)}.",
            data: data);
    }

    private static string List(IEnumerable<int> partitions) => string.Join(", ", partitions.Select(p => p.ToString(CultureInfo.InvariantCulture)));
}
