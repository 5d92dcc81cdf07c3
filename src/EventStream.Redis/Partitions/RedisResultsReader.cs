using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using EventStream.Redis.Partitions;
using EventStream.Redis.Streams;
using StackExchange.Redis;

namespace EventStream.Redis;

/// <summary>One committed window result read by a <see cref="RedisResultsReader"/>.</summary>
/// <param name="Partition">The partition that committed it.</param>
/// <param name="Id">Its entry id in the partition's results stream.</param>
/// <param name="Result">Its JSON, <c>{"key","start","end","value","count","firing","firingNumber"}</c> (the entry's <c>result</c> field).</param>
/// <param name="Cursor">The cursor just after it: reading after this cursor gives what follows this result.</param>
public sealed record RedisResultEntry(int Partition, string Id, string Result, string Cursor);

/// <summary>
/// Reads a partitioned computation's committed window results (each partition's results stream, the outbox every commit
/// writes to) after a cursor: an opaque, compact text that holds the last entry id read from every partition. A cursor
/// is the same in every process and survives restarts of readers and of Redis (with AOF), so a reader anywhere resumes
/// exactly after what another read — without a gap or a duplicate — for as long as the results are retained
/// (<see cref="PartitionedOptions.Retention"/>, 7 days by default; older results are trimmed and cannot be read again).
/// </summary>
/// <remarks>
/// Each read is one <c>XREAD</c> per partition, sent together (one round trip; each touches one partition's slot, so it
/// works on a Redis Cluster). StackExchange.Redis has no blocking reads, so <see cref="SubscribeAsync"/> polls once per
/// interval: that is also the cadence of its messages. Within a partition results come in commit order; partitions hold
/// different keys, so the order between them carries no meaning.
/// </remarks>
public sealed class RedisResultsReader
{
    /// <summary>The most entries one read takes from each partition.</summary>
    private const int PageSize = 1000;

    private readonly IDatabase _db;
    private readonly PartitionKeys _keys;
    private readonly PartitionStore _definition;
    private readonly TimeProvider _time;
    private int _checked;

    /// <summary>Initializes a new instance of the <see cref="RedisResultsReader"/> class.</summary>
    /// <param name="redis">The connection (one long-lived multiplexer per process).</param>
    /// <param name="computation">
    /// The computation: <see cref="PartitionedOptions.Stream"/>, <see cref="PartitionedOptions.Group"/>,
    /// <see cref="PartitionedOptions.KeyPrefix"/> and <see cref="PartitionedOptions.Partitions"/> as its workers have them;
    /// <see cref="PartitionedOptions.TimeProvider"/> is the clock of <see cref="SubscribeAsync"/>'s interval.
    /// </param>
    /// <param name="interval">How often <see cref="SubscribeAsync"/> reads, and so the most time between a commit and its message; <see langword="null"/> for 1 second.</param>
    /// <exception cref="ArgumentException">The computation's options are invalid, or the interval is not positive.</exception>
    public RedisResultsReader(IConnectionMultiplexer redis, PartitionedOptions computation, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(computation);
        var problems = computation.Validate().ToList();
        if (interval is { } i && i <= TimeSpan.Zero)
        {
            problems.Add($"the interval must be positive (was {i})");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("RedisResultsReader: " + string.Join("; ", problems) + ".", nameof(computation));
        }

        _db = redis.GetDatabase();
        _keys = new PartitionKeys(computation.KeyPrefix, computation.Stream, computation.Group, computation.Partitions);
        _definition = new PartitionStore(_db, new PartitionKeys(computation.KeyPrefix, computation.Stream, computation.Group, 1));
        _time = computation.TimeProvider;
        Interval = interval ?? TimeSpan.FromSeconds(1);
    }

    /// <summary>Gets how often <see cref="SubscribeAsync"/> reads.</summary>
    public TimeSpan Interval { get; }

    /// <summary>Gets the cursor before every retained result (reading after it gives them all).</summary>
    public string StartCursor => ResultsCursor.Start(_keys.Partitions).ToString();

    /// <summary>Reads the cursor after every result committed so far: reading after it gives only what comes next.</summary>
    /// <param name="cancellationToken">Abandons the wait for Redis.</param>
    /// <returns>The cursor.</returns>
    /// <exception cref="InvalidOperationException">The computation was started with another partition count.</exception>
    public async Task<string> GetEndCursorAsync(CancellationToken cancellationToken = default)
    {
        await CheckPartitionsAsync().ConfigureAwait(false);
        var last = await Task.WhenAll(Enumerable.Range(0, _keys.Partitions)
            .Select(p => _db.StreamRangeAsync(_keys.Results(p), "-", "+", 1, Order.Descending))).WaitAsync(cancellationToken).ConfigureAwait(false);
        return ResultsCursor.At([.. last.Select(page => page.Length == 0 ? null : (string?)page[0].Id)]).ToString();
    }

    /// <summary>
    /// Reads the results committed after <paramref name="cursor"/>, at most <paramref name="maxCount"/> from each
    /// partition, without waiting for more; each comes with the cursor just after it (the last one's is where to read on).
    /// </summary>
    /// <param name="cursor">A cursor this reader (or another of the same computation) returned, or <see cref="StartCursor"/>.</param>
    /// <param name="maxCount">The most results to read from each partition.</param>
    /// <param name="cancellationToken">Abandons the wait for Redis.</param>
    /// <returns>The results, partition by partition, each partition's in commit order; empty when there is nothing new.</returns>
    /// <exception cref="FormatException"><paramref name="cursor"/> is not a cursor of this computation (the message says why).</exception>
    /// <exception cref="InvalidOperationException">The computation was started with another partition count.</exception>
    public async Task<IReadOnlyList<RedisResultEntry>> ReadAsync(string cursor, int maxCount = PageSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var from = ResultsCursor.Parse(cursor, _keys.Partitions);
        var (entries, _) = await ReadAfterAsync(from, maxCount, cancellationToken).ConfigureAwait(false);
        return entries;
    }

    /// <summary>
    /// The results committed after <paramref name="lastEventId"/> (or, when it is <see langword="null"/>, from now on) as
    /// server-sent events, one per <see cref="Interval"/> with results: event type <c>results</c>, data a JSON array of
    /// the results read, event id the cursor after them — so a client that reconnects with that id as
    /// <c>Last-Event-ID</c>, to this process or any other, gets what follows without a gap or a duplicate. A backlog is
    /// sent at once, a message per page of up to 1,000 results per partition. A client whose position the retention
    /// trimmed past (its last result, and what followed, may be gone) first gets a <c>gap</c> event,
    /// <c>{"trimmedPartitions":[…]}</c> (detected on Redis 7 and later). A Redis outage is waited out (the
    /// messages resume where they stopped). The sequence ends when <paramref name="cancellationToken"/> is cancelled.
    /// Made for <c>MapWindowResults(pattern, reader.SubscribeAsync)</c> of EventStream.AspNetCore, or
    /// <c>TypedResults.ServerSentEvents</c>.
    /// </summary>
    /// <param name="lastEventId">The id of the last message the client got (its <c>Last-Event-ID</c>), or <see langword="null"/> to start from now.</param>
    /// <param name="cancellationToken">Ends the sequence.</param>
    /// <returns>The messages.</returns>
    /// <exception cref="FormatException"><paramref name="lastEventId"/> is not a cursor of this computation (thrown at once, before any read, so an endpoint can answer 400).</exception>
    public IAsyncEnumerable<SseItem<string>> SubscribeAsync(string? lastEventId, CancellationToken cancellationToken = default)
    {
        var from = lastEventId is null ? null : ResultsCursor.Parse(lastEventId, _keys.Partitions);
        return MessagesAsync(from, cancellationToken);
    }

    private async IAsyncEnumerable<SseItem<string>> MessagesAsync(ResultsCursor? cursor, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(10);
        var resumed = cursor is not null;
        while (!cancellationToken.IsCancellationRequested)
        {
            IReadOnlyList<RedisResultEntry> entries;
            bool more;
            IReadOnlyList<int> trimmed = [];
            try
            {
                cursor ??= ResultsCursor.Parse(await GetEndCursorAsync(cancellationToken).ConfigureAwait(false), _keys.Partitions);
                if (resumed)
                {
                    trimmed = await TrimmedAfterAsync(cursor, cancellationToken).ConfigureAwait(false);
                    resumed = false;
                }

                (entries, more) = await ReadAfterAsync(cursor, PageSize, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromMilliseconds(10);
            }
            catch (Exception ex) when (RedisOutage.IsOutage(ex) && !cancellationToken.IsCancellationRequested)
            {
                // Wait it out: the cursor has not moved, so nothing is skipped; the client keeps its connection (and its heartbeats).
                await Task.Delay(backoff, _time, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, Math.Max(Interval.Ticks, TimeSpan.FromSeconds(1).Ticks)));
                continue;
            }

            if (trimmed.Count > 0)
            {
                // The client's position is older than what the results streams still hold: say so instead of resuming as if whole.
                yield return new SseItem<string>($"{{\"trimmedPartitions\":[{string.Join(",", trimmed)}]}}", "gap");
            }

            if (entries.Count > 0)
            {
                var data = new StringBuilder("[");
                foreach (var entry in entries)
                {
                    data.Append(data.Length == 1 ? string.Empty : ",").Append(entry.Result);
                }

                var last = entries[^1].Cursor;
                cursor = ResultsCursor.Parse(last, _keys.Partitions);
                yield return new SseItem<string>(data.Append(']').ToString(), "results") { EventId = last };
            }

            if (!more)
            {
                await Task.Delay(Interval, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One read of every partition after the cursor: the entries, each with the cursor after it, and whether a partition has more.</summary>
    private async Task<(IReadOnlyList<RedisResultEntry> Entries, bool More)> ReadAfterAsync(ResultsCursor cursor, int maxCount, CancellationToken cancellationToken)
    {
        await CheckPartitionsAsync().ConfigureAwait(false);
        var pages = await Task.WhenAll(Enumerable.Range(0, _keys.Partitions)
            .Select(p => _db.StreamReadAsync(_keys.Results(p), cursor[p], maxCount))).WaitAsync(cancellationToken).ConfigureAwait(false);
        var entries = new List<RedisResultEntry>();
        var more = false;
        for (var p = 0; p < pages.Length; p++)
        {
            more |= pages[p].Length >= maxCount;
            foreach (var entry in pages[p])
            {
                var id = (string)entry.Id!;
                cursor = cursor.With(p, id);
                entries.Add(new RedisResultEntry(p, id, (string?)entry["result"] ?? "null", cursor.ToString()));
            }
        }

        return (entries, more);
    }

    /// <summary>
    /// The partitions whose results after the cursor's position may be gone: the retention trimmed the stream (Redis 7's
    /// <c>entries-added</c> is above its <c>length</c>) past the cursor (its <c>recorded-first-entry-id</c>, the oldest id
    /// still kept, is after the cursor, so the last result the client saw was trimmed, and what followed it may have been).
    /// Servers before Redis 7 do not report these, and then nothing is detected.
    /// </summary>
    private async Task<IReadOnlyList<int>> TrimmedAfterAsync(ResultsCursor cursor, CancellationToken cancellationToken)
    {
        var infos = await Task.WhenAll(Enumerable.Range(0, _keys.Partitions).Select(async p =>
        {
            try
            {
                return (await _db.ExecuteAsync("XINFO", "STREAM", _keys.Results(p)).ConfigureAwait(false)).ToDictionary();
            }
            catch (RedisServerException)
            {
                return null; // no such stream yet: nothing was trimmed
            }
        })).WaitAsync(cancellationToken).ConfigureAwait(false);
        var trimmed = new List<int>();
        for (var p = 0; p < infos.Length; p++)
        {
            if (infos[p] is { } info
                && info.TryGetValue("entries-added", out var added) && info.TryGetValue("length", out var length) && (long)added > (long)length
                && info.TryGetValue("recorded-first-entry-id", out var first) && (string?)first is { } oldest
                && StreamIds.Compare(oldest, cursor[p]) > 0)
            {
                trimmed.Add(p);
            }
        }

        return trimmed;
    }

    /// <summary>Once: a computation already started must have the partition count this reader was given (or its cursors would miss partitions).</summary>
    private async Task CheckPartitionsAsync()
    {
        if (Volatile.Read(ref _checked) == 1)
        {
            return;
        }

        var stored = await _definition.StoredPartitionsAsync().ConfigureAwait(false);
        if (stored is { } n && n != _keys.Partitions)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"The computation on stream '{_keys.Stream}' has {n} partitions; this reader was given {_keys.Partitions}. Give it the computation's PartitionedOptions."));
        }

        if (stored is not null)
        {
            Volatile.Write(ref _checked, 1); // before the first start there is nothing to disagree with yet: check again next time
        }
    }
}
