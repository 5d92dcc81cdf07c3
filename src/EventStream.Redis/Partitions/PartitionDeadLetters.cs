using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace EventStream.Redis.Partitions;

/// <summary>
/// The dead-letter store of a partitioned computation's head: each entry goes into the commit of the partition that
/// owns it (so it is recorded once, with the input position, whatever the worker count), and the entries are read from
/// the partitions' dead-letter streams. Ids are <c>p{partition}:{stream id}</c>.
/// </summary>
/// <typeparam name="T">The pipeline's input type.</typeparam>
internal sealed class PartitionDeadLetters<T>(PartitionedWorker<T> worker, IDatabase db) : IDeadLetterStore
{
    public bool IsFull => false;

    public ValueTask AddAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var json = entry.Event is null ? "null" : JsonSerializer.Serialize(entry.Event, entry.Event.GetType(), worker.Json);
        worker.OnDeadLetter(entry, json);
        return default;
    }

    public ValueTask ReplaceAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("A partitioned computation's dead letters are replayed through its input stream, not re-recorded in place.");

    public async ValueTask<IReadOnlyList<DeadLetterEntry>> ListAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        var entries = new List<DeadLetterEntry>();
        for (var p = 0; p < worker.Keys.Partitions && entries.Count < limit; p++)
        {
            foreach (var e in await db.StreamRangeAsync(worker.Keys.Dead(p), count: limit - entries.Count).ConfigureAwait(false))
            {
                var entry = Read(p, e);
                if (pipeline is null || entry.Pipeline == pipeline)
                {
                    entries.Add(entry);
                }
            }
        }

        return entries;
    }

    public async ValueTask<long> CountAsync(string? pipeline = null, CancellationToken cancellationToken = default)
    {
        var lengths = await Task.WhenAll(Enumerable.Range(0, worker.Keys.Partitions).Select(p => db.StreamLengthAsync(worker.Keys.Dead(p)))).ConfigureAwait(false);
        return pipeline is null ? lengths.Sum() : (await ListAsync(pipeline, int.MaxValue, cancellationToken).ConfigureAwait(false)).Count;
    }

    public async ValueTask<bool> RemoveAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var colon = id.IndexOf(':', StringComparison.Ordinal);
        if (!id.StartsWith('p') || colon < 2 || !int.TryParse(id.AsSpan(1, colon - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p >= worker.Keys.Partitions)
        {
            return false;
        }

        return await db.StreamDeleteAsync(worker.Keys.Dead(p), [id[(colon + 1)..]]).ConfigureAwait(false) == 1;
    }

    private static DeadLetterEntry Read(int partition, StreamEntry e)
    {
        string? Field(string name) => e[name].IsNull ? null : (string?)e[name];
        static DateTimeOffset Time(string? ms) => ms is null ? default : DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ms, CultureInfo.InvariantCulture));
        return new DeadLetterEntry
        {
            Id = $"p{partition}:{e.Id}",
            Pipeline = Field("pipeline") ?? string.Empty,
            Stage = Field("stage") ?? string.Empty,
            Reason = Enum.TryParse<DeadLetterReason>(Field("reason"), out var reason) ? reason : DeadLetterReason.Failed,
            ExceptionType = Field("exceptionType"),
            Message = Field("message"),
            Attempts = int.TryParse(Field("attempts"), CultureInfo.InvariantCulture, out var attempts) ? attempts : 0,
            FirstFailure = Time(Field("firstFailure")),
            LastFailure = Time(Field("lastFailure")),
            Event = Field("event"),
        };
    }
}
