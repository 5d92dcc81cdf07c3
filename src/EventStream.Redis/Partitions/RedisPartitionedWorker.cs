using EventStream.Redis.Partitions;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace EventStream.Redis;

/// <summary>
/// One worker of a pipeline run partitioned over a Redis stream: the same <see cref="PipelineBuilder"/> pipeline on
/// one process or many. The input is split into <see cref="PartitionedOptions.Partitions"/> partitions by a stable
/// hash of the window key; each partition has one owner at a time (a lease with a fencing epoch), and commits its
/// window state delta, input position, results, late events and dead letters in one atomic script. So each window
/// firing is committed exactly once; a stop commits and hands over without firing anything; a killed worker's
/// partitions resume from their last commit on another worker once its lease runs out. The stages after the window
/// get the committed results, at least once (after a takeover, those the old owner may not have delivered): identify a
/// result by its key, window start and firing number to upsert it. Built with
/// <see cref="RedisPartitionedPipeline.BuildPartitioned{TIn, TOut}"/>.
/// </summary>
/// <remarks>
/// Every worker reads the whole input and runs the stages before the window on every event (they must be
/// deterministic: the same event gives the same output), and each keeps its own partitions' events; so every worker
/// judges lateness against the watermark of the whole input, as one process would. Processing-time windows cannot run
/// partitioned.
/// </remarks>
/// <typeparam name="T">The pipeline's input type.</typeparam>
public sealed class RedisPartitionedWorker<T>
{
    private readonly PartitionedWorker<T> _worker;

    internal RedisPartitionedWorker(PartitionedWorker<T> worker) => _worker = worker;

    /// <summary>Gets the partitions this worker holds now.</summary>
    public IReadOnlyList<int> OwnedPartitions => _worker.Owned;

    /// <summary>
    /// Runs the worker until <paramref name="cancellationToken"/> is cancelled (or, with
    /// <see cref="PartitionedOptions.ExitWhenIdle"/>, until the input is complete), then commits, hands its partitions
    /// over and returns what it did. Redis outages are waited out; a definition that differs from the computation's
    /// stored one throws <see cref="InvalidOperationException"/> naming the difference.
    /// </summary>
    /// <param name="cancellationToken">Stops the worker (the stop commits and fires nothing).</param>
    /// <returns>What the worker did.</returns>
    public Task<PartitionedRunSummary> RunAsync(CancellationToken cancellationToken) => _worker.RunAsync(cancellationToken);
}

/// <summary>Builds a pipeline to run partitioned over Redis, and reads a partitioned computation's state from any process.</summary>
public static class RedisPartitionedPipeline
{
    /// <summary>
    /// Replays a partitioned computation's dead letters, oldest first per partition, from any process: each dead
    /// letter's event goes back into the input stream as a new entry (field <c>event</c>, and <c>replayOf</c> = the dead
    /// letter's id), where every worker reads it again and its partition's owner processes it; then the dead letter is
    /// removed. At least once: a replaying process that dies between the two steps leaves the dead letter, and a later
    /// replay adds its event again. Dead letters without an event (an entry with no <c>event</c> field) are skipped.
    /// </summary>
    /// <param name="redis">The connection.</param>
    /// <param name="options">The computation: <see cref="PartitionedOptions.Stream"/>, <see cref="PartitionedOptions.Group"/> and <see cref="PartitionedOptions.KeyPrefix"/>.</param>
    /// <param name="maxCount">The most dead letters to replay.</param>
    /// <param name="cancellationToken">Stops the replay between dead letters.</param>
    /// <returns>How many were replayed and skipped (<see cref="ReplayResult.FailedAgain"/> is 0: a replayed event that fails again is dead-lettered again by its owner, later).</returns>
    /// <exception cref="InvalidOperationException">No computation of that stream and group has started.</exception>
    public static async Task<ReplayResult> ReplayDeadLettersAsync(IConnectionMultiplexer redis, PartitionedOptions options, int maxCount = int.MaxValue, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(maxCount);
        var db = redis.GetDatabase();
        var keys = await KeysAsync(db, options).ConfigureAwait(false);
        int replayed = 0, skipped = 0;
        for (var p = 0; p < keys.Partitions && replayed + skipped < maxCount; p++)
        {
            foreach (var dead in await db.StreamRangeAsync(keys.Dead(p), count: maxCount - replayed - skipped).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var json = dead["event"];
                if (json.IsNullOrEmpty)
                {
                    skipped++;
                    continue;
                }

                await db.StreamAddAsync(keys.Stream, [new NameValueEntry("event", json), new NameValueEntry("replayOf", $"p{p}:{dead.Id}")]).ConfigureAwait(false);
                await db.StreamDeleteAsync(keys.Dead(p), [dead.Id]).ConfigureAwait(false);
                replayed++;
            }
        }

        return new ReplayResult(replayed, 0, skipped);
    }

    /// <summary>
    /// Reads a computation's committed results, partition by partition (each in commit order), as JSON lines
    /// <c>{"key","start","end","value","count","firing","firingNumber"}</c>: the exactly-once record, for checks and
    /// backfills. The partition count is the one stored with the computation.
    /// </summary>
    /// <param name="redis">The connection.</param>
    /// <param name="options">The computation: <see cref="PartitionedOptions.Stream"/>, <see cref="PartitionedOptions.Group"/> and <see cref="PartitionedOptions.KeyPrefix"/>.</param>
    /// <param name="cancellationToken">Stops the reading.</param>
    /// <returns>The results.</returns>
    /// <exception cref="InvalidOperationException">No computation of that stream and group has started.</exception>
    public static async IAsyncEnumerable<string> ReadResultsAsync(IConnectionMultiplexer redis, PartitionedOptions options, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        var db = redis.GetDatabase();
        var keys = await KeysAsync(db, options).ConfigureAwait(false);
        for (var p = 0; p < keys.Partitions; p++)
        {
            var from = "-";
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var page = await db.StreamRangeAsync(keys.Results(p), from, "+", 1000).ConfigureAwait(false);
                foreach (var entry in page)
                {
                    yield return (string)entry["result"]!;
                }

                if (page.Length < 1000)
                {
                    break;
                }

                from = "(" + page[^1].Id;
            }
        }
    }

    /// <summary>
    /// Reads a computation's partitions (owner, epoch, committed position, lag, watermark, last commit, counts) from
    /// Redis: from any process, running a worker or not.
    /// </summary>
    /// <param name="redis">The connection.</param>
    /// <param name="options">The computation: <see cref="PartitionedOptions.Stream"/>, <see cref="PartitionedOptions.Group"/>, <see cref="PartitionedOptions.KeyPrefix"/> and <see cref="PartitionedOptions.Partitions"/>.</param>
    /// <returns>The partitions.</returns>
    public static async Task<PartitionedMetrics> ReadMetricsAsync(IConnectionMultiplexer redis, PartitionedOptions options)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        var db = redis.GetDatabase();
        var keys = new PartitionKeys(options.KeyPrefix, options.Stream, options.Group, options.Partitions);
        var store = new PartitionStore(db, keys);
        var cursors = await Task.WhenAll(Enumerable.Range(0, keys.Partitions).Select(store.ReadCursorAsync)).ConfigureAwait(false);
        var last = await db.StreamRangeAsync(keys.Stream, "-", "+", 1, Order.Descending).ConfigureAwait(false);
        var now = options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        return new PartitionedMetrics(options.Stream, options.Group, [.. cursors.Select((c, p) => new PartitionMetrics(
            p,
            c.Owner,
            c.Epoch,
            c.LeaseUntil > now,
            c.Position,
            last.Length == 0 ? null : TimeSpan.FromMilliseconds(Math.Max(0, StreamIds.Millis(last[0].Id!) - StreamIds.Millis(c.Position))),
            c.Clock.Watermark is long.MinValue or long.MaxValue ? null : DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(c.Clock.Watermark, -62135596800000, 253402300799999)),
            c.CommittedAt == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(c.CommittedAt),
            c.Counts.Read,
            c.Counts.Windowed,
            c.Counts.Late,
            c.Counts.DeadLettered,
            c.Counts.Results,
            c.Counts.Filtered,
            c.Final))]);
    }

    /// <summary>
    /// Validates the pipeline (as <see cref="PipelineBuilder{TIn, TOut}.Build"/> does; it must have exactly one
    /// event-time window stage, and the window's key and accumulator must survive a JSON round trip) and makes one
    /// worker of its partitioned computation. Call <see cref="RedisPartitionedWorker{T}.RunAsync"/> to run it.
    /// </summary>
    /// <typeparam name="TIn">The pipeline's input type: entries' <c>event</c> field is read as its JSON.</typeparam>
    /// <typeparam name="TOut">The last stage's type.</typeparam>
    /// <param name="builder">The pipeline, ending in its sink.</param>
    /// <param name="redis">The connection (one long-lived multiplexer per process).</param>
    /// <param name="options">The stream, computation and timing.</param>
    /// <param name="logger">Logs takeovers, hand-overs and outages; <see langword="null"/> for none.</param>
    /// <returns>The worker.</returns>
    /// <exception cref="PipelineConfigurationException">The pipeline has problems; the message names each one.</exception>
    /// <exception cref="ArgumentException">The options are invalid; the message names each problem.</exception>
    public static RedisPartitionedWorker<TIn> BuildPartitioned<TIn, TOut>(this PipelineBuilder<TIn, TOut> builder, IConnectionMultiplexer redis, PartitionedOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        var definition = builder.Definition;
        var problems = definition.Validate();
        if (problems.Count != 0)
        {
            throw new PipelineConfigurationException(definition.Name ?? "(unnamed)", problems);
        }

        definition.Built = true;
        return new RedisPartitionedWorker<TIn>(new PartitionedWorker<TIn>(redis, definition, options, logger));
    }

    /// <summary>The computation's keys, with the partition count stored at its first start.</summary>
    private static async Task<PartitionKeys> KeysAsync(IDatabase db, PartitionedOptions options)
    {
        var probe = new PartitionKeys(options.KeyPrefix, options.Stream, options.Group, 1);
        var partitions = await new PartitionStore(db, probe).StoredPartitionsAsync().ConfigureAwait(false)
            ?? throw new InvalidOperationException($"No partitioned computation of stream '{options.Stream}' and group '{options.Group}' has started (no key '{probe.Definition}').");
        return new PartitionKeys(options.KeyPrefix, options.Stream, options.Group, partitions);
    }
}
