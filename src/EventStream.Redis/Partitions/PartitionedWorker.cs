using EventStream.Redis.Streams;
using EventStream.Windowing.State;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace EventStream.Redis.Partitions;

/// <summary>
/// Runs one pipeline (built with <see cref="PipelineBuilder"/>) as one worker of a partitioned computation over a
/// Redis stream. Every worker reads the whole input and runs the stages before the window on it; the window keeps the
/// events of the partitions this worker holds the lease of, and each of those partitions commits atomically, every
/// <see cref="PartitionedOptions.CommitInterval"/>: its state delta, the input position, its clock, the results
/// fired, late events and dead letters. The stages after the window get the committed results.
/// <para>
/// A commit is taken at a barrier: the reader stops, the stages before the window drain (nothing in flight), and the
/// window exports each partition in its own loop. Partitions taken over from another worker are restored from their
/// committed cursor and state; when one is behind the reader, the reader goes back to its position and lets it in alone
/// until it has caught up, then lets the others in again where they had committed (a barrier at each such boundary),
/// so no partition sees an entry twice or misses one.
/// </para>
/// </summary>
/// <typeparam name="T">The pipeline's input type.</typeparam>
internal sealed partial class PartitionedWorker<T> : IWindowPartitionHost
{
    private static readonly TimeSpan MaxPollDelay = TimeSpan.FromMilliseconds(100);
    private readonly IDatabase _db;
    private readonly PartitionStore _store;
    private readonly PartitionKeys _keys;
    private readonly PartitionedOptions _options;
    private readonly JsonSerializerOptions _eventJson;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly PipelineDefinition _definition;
    private readonly OwnedPartition?[] _owned;
    private readonly PartitionDeadLetters<T> _deadLetters;
    private IEventPipeline<T>? _head;
    private PartitionedPipeline.Tail? _tail;
    private IPartitionedWindow? _window;
    private string? _position;
    private string _lastInput = PartitionCursor.Start;
    private long _lastInputAt = long.MinValue;
    private long _read;
    private long _commits;
    private long _fenced;
    private PartitionCounts _done;
    private long _outages;
    private bool _waitingFor;
    private bool _torn;
    private long _nextChange = long.MaxValue;
    private System.Diagnostics.Metrics.Meter? _ownMeter;

    public PartitionedWorker(IConnectionMultiplexer redis, PipelineDefinition definition, PartitionedOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Partitioned execution: " + string.Join("; ", problems) + ".", nameof(options));
        }

        _ = PartitionedPipeline.WindowIndex(definition);
        _db = redis.GetDatabase();
        _options = options;
        _definition = definition;
        _keys = new PartitionKeys(options.KeyPrefix, options.Stream, options.Group, options.Partitions);
        _store = new PartitionStore(_db, _keys);
        _time = options.TimeProvider;
        _log = logger ?? NullLogger.Instance;
        _eventJson = options.Json ?? RedisJson.Default;
        Json = ResultJson(_eventJson);
        _owned = new OwnedPartition?[options.Partitions];
        _deadLetters = new PartitionDeadLetters<T>(this, _db);
    }

    /// <summary>
    /// The JSON of committed results and late events: the event options, with firings as camelCase names and non-finite
    /// numbers (an overflowing sum) as "Infinity" rather than a failure.
    /// </summary>
    internal static JsonSerializerOptions ResultJson(JsonSerializerOptions events) => new(events)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        NumberHandling = events.NumberHandling | JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Gets the computation's keys.</summary>
    public PartitionKeys Keys => _keys;

    /// <summary>Gets the partitions this worker holds now.</summary>
    public IReadOnlyList<int> Owned => [.. _owned.Where(o => o is not null).Select(o => o!.Partition)];

    /// <summary>Gets the dead-letter store of the stages up to the window (the partitions' dead-letter streams).</summary>
    public IDeadLetterStore DeadLetters => _deadLetters;

    /// <summary>Gets the head pipeline (the stages up to the window), once running.</summary>
    public IEventPipeline<T>? Head => _head;

    /// <summary>Runs until <paramref name="stop"/> is cancelled, then commits, hands its partitions over and returns what it did.</summary>
    public async Task<PartitionedRunSummary> RunAsync(CancellationToken stop)
    {
        Start();
        await WhileRedisIsAwayAsync(() => _store.EnsureDefinitionAsync(Definition()), stop).ConfigureAwait(false);

        // Among the stream's readers from its first start: until it has committed, no computation trims what it has not read.
        await WhileRedisIsAwayAsync(() => _db.HashSetAsync(_keys.Readers, _keys.Reader, PartitionCursor.Start, When.NotExists), stop).ConfigureAwait(false);
        var nextRebalance = long.MinValue;
        var nextCommit = NowMs() + (long)_options.CommitInterval.TotalMilliseconds;
        var idle = TimeSpan.FromMilliseconds(1);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var now = NowMs();
                    var changed = false;
                    if (now >= nextRebalance)
                    {
                        changed = await RebalanceAsync(now, stop).ConfigureAwait(false);

                        // A partition on its way here (its holder releases it at its next commit) is asked for again
                        // after a commit interval, not a third of a lease: a hand-over leaves it unowned that long at most.
                        // And at the moment a heartbeat or a lease it waits for runs out: a dead worker's partitions are
                        // taken at once then, not up to a third of a lease later.
                        nextRebalance = now + (_waitingFor ? (long)_options.CommitInterval.TotalMilliseconds : (long)_options.Lease.TotalMilliseconds / 3);
                        if (_nextChange > now && _nextChange < nextRebalance)
                        {
                            nextRebalance = _nextChange + 1;
                        }
                    }

                    if (changed || NowMs() >= nextCommit)
                    {
                        await CommitAsync(stop).ConfigureAwait(false);
                        nextCommit = NowMs() + (long)_options.CommitInterval.TotalMilliseconds;
                    }

                    var read = await ReadAsync(stop).ConfigureAwait(false);
                    if (read > 0)
                    {
                        idle = TimeSpan.FromMilliseconds(1);
                        continue;
                    }

                    if (_options.ExitWhenIdle is not null && await InputCompleteAsync(stop).ConfigureAwait(false))
                    {
                        break;
                    }

                    await Task.Delay(idle, _time, stop).ConfigureAwait(false);
                    idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, MaxPollDelay.Ticks));
                }
                catch (Exception ex) when (RedisOutage.IsOutage(ex) && !stop.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _outages);
                    Log.Outage(_log, _options.Stream, ex.Message, null);
                    await Task.Delay(MaxPollDelay * 5, _time, stop).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        await StopAsync().ConfigureAwait(false);
        return new PartitionedRunSummary(_read, _done.Windowed, _done.Late, _done.DeadLettered, _done.Results, _commits, _fenced, Interlocked.Read(ref _outages));
    }

    private void Start()
    {
        if (_head is not null)
        {
            throw new InvalidOperationException("A partitioned worker runs once.");
        }

        var options = _definition.Options.Clone();
        options.DeadLetterStore = _deadLetters;
        var head = new PipelineDefinition(_definition.Name!, options);
        head.Stages.AddRange(_definition.Stages);
        _head = PartitionedPipeline.AssembleHead<T>(head, this);
        _tail = PartitionedPipeline.AssembleTail(_definition, Json);
        _ownMeter = options.MeterFactory is null ? new System.Diagnostics.Metrics.Meter(EventStreamMeter.MeterName) : null;
        ObserveGauges(_ownMeter ?? options.MeterFactory!.Create(new System.Diagnostics.Metrics.MeterOptions(EventStreamMeter.MeterName)));
    }

    /// <summary>The partitions this worker owns, on the Meter: how many, and each one's watermark, commit age and lag.</summary>
    private void ObserveGauges(System.Diagnostics.Metrics.Meter meter)
    {
        KeyValuePair<string, object?>[] Tags(int? partition) => partition is { } p
            ? [new("pipeline", _definition.Name), new("worker", _options.Consumer), new("partition", p)]
            : [new("pipeline", _definition.Name), new("worker", _options.Consumer)];
        IEnumerable<OwnedPartition> Owned() => _owned.Where(o => o is not null).Select(o => o!).ToList();
        meter.CreateObservableGauge(EventStreamMeter.PartitionsOwned, () => new System.Diagnostics.Metrics.Measurement<int>(Owned().Count(), Tags(null)), "{partition}", "Partitions this worker owns.");
        meter.CreateObservableGauge(EventStreamMeter.PartitionWatermark, () => Owned()
            .Where(o => o.Clock.Watermark is not (long.MinValue or long.MaxValue))
            .Select(o => new System.Diagnostics.Metrics.Measurement<long>(o.Clock.Watermark, Tags(o.Partition))), "ms", "Each owned partition's committed watermark (epoch ms).");
        meter.CreateObservableGauge(EventStreamMeter.PartitionCommitAge, () => Owned()
            .Where(o => o.CommittedAt > 0)
            .Select(o => new System.Diagnostics.Metrics.Measurement<long>(NowMs() - o.CommittedAt, Tags(o.Partition))), "ms", "How long ago each owned partition committed.");
        meter.CreateObservableGauge(EventStreamMeter.PartitionLag, () =>
        {
            var read = _position;
            return read is null ? [] : Owned().Select(o => new System.Diagnostics.Metrics.Measurement<long>(Math.Max(0, StreamIds.Millis(read) - StreamIds.Millis(o.Position)), Tags(o.Partition)));
        }, "ms", "How far each owned partition's committed position trails what this worker has read.");
    }

    private Dictionary<string, string> Definition()
    {
        var definition = new Dictionary<string, string>(_window!.Definition, StringComparer.Ordinal)
        {
            ["partitions"] = _options.Partitions.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["pipeline"] = _definition.Name!,
        };
        return definition;
    }

    /// <summary>
    /// Announces this worker, renews its leases, and takes the partitions assigned to it that are free (restoring
    /// each); marks the ones assigned elsewhere for hand-over. Returns whether the partitions changed.
    /// </summary>
    private async Task<bool> RebalanceAsync(long now, CancellationToken stop)
    {
        var lease = (long)_options.Lease.TotalMilliseconds;
        await _store.HeartbeatAsync(_options.Consumer, now + lease).ConfigureAwait(false);
        var (members, nextExpiry) = await _store.LiveMembersAsync(now).ConfigureAwait(false);
        var changed = false;
        _waitingFor = false;
        // A live worker renews its heartbeat and leases every third of a lease, so one that runs out within half a
        // lease has missed its renewal (it died, most likely): the next rebalance is when it runs out.
        var soon = now + (lease / 2);
        _nextChange = nextExpiry < soon ? nextExpiry : long.MaxValue;
        for (var p = 0; p < _owned.Length; p++)
        {
            var mine = PartitionAssignment.OwnerOf(p, members) == _options.Consumer;
            if (_owned[p] is { } owned)
            {
                if (!mine)
                {
                    owned.Release = true;
                    changed = true;
                }
                else if (!await _store.RenewAsync(p, owned.Epoch, now + lease).ConfigureAwait(false))
                {
                    await LoseAsync(owned, stop).ConfigureAwait(false);
                    changed = true;
                }
            }
            else if (mine)
            {
                var acquisition = await _store.TryAcquireAsync(p, _options.Consumer, now, now + lease).ConfigureAwait(false);
                if (acquisition.Epoch > 0)
                {
                    await RestoreAsync(p, acquisition.Epoch, stop).ConfigureAwait(false);
                    changed = true;
                }
                else
                {
                    _waitingFor = true;
                    if (acquisition.HeldUntil < soon)
                    {
                        _nextChange = Math.Min(_nextChange, acquisition.HeldUntil);
                    }
                }
            }
        }

        if (members.Length > 0 && members[0] == _options.Consumer)
        {
            await TrimInputAsync().ConfigureAwait(false);
        }

        return changed;
    }

    /// <summary>Takes a partition over: its cursor and state, and the committed results not known to be delivered.</summary>
    private async Task RestoreAsync(int partition, long epoch, CancellationToken stop)
    {
        var started = _time.GetTimestamp();
        var cursor = await _store.ReadCursorAsync(partition).ConfigureAwait(false);
        var restoring = _window!.BeginRestore(cursor.Clock);
        long entries = 0;

        // The next pages are read while this one is decoded.
        var pages = System.Threading.Channels.Channel.CreateBounded<HashEntry[]>(new System.Threading.Channels.BoundedChannelOptions(4) { SingleReader = true, SingleWriter = true });
        using (var decoding = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            var reading = ReadPagesAsync(partition, pages.Writer, decoding.Token);
            try
            {
                await foreach (var page in pages.Reader.ReadAllAsync(stop).ConfigureAwait(false))
                {
                    foreach (var entry in page)
                    {
                        restoring.RestoreEntry(((ReadOnlyMemory<byte>)entry.Name).Span, ((ReadOnlyMemory<byte>)entry.Value).Span);
                    }

                    entries += page.Length;
                }
            }
            finally
            {
                await decoding.CancelAsync().ConfigureAwait(false); // a failed decode stops the reading too
                await reading.ConfigureAwait(false);
            }
        }

        await _window.InvokeAsync(() => _window.Adopt(partition, restoring), stop).ConfigureAwait(false);
        var owned = new OwnedPartition(partition, epoch, cursor);
        _owned[partition] = owned;
        Log.Restored(_log, partition, epoch, cursor.Position, entries, (long)_time.GetElapsedTime(started).TotalMilliseconds, null);

        // Results committed by the previous owner that its stages after the window may not have taken: again (at least once).
        var undelivered = await _db.StreamRangeAsync(_keys.Results(partition), "(" + cursor.Delivered, "+").ConfigureAwait(false);
        foreach (var result in undelivered)
        {
            await _tail!.WriteJsonAsync((string)result["result"]!, stop).ConfigureAwait(false);
        }

        if (undelivered.Length > 0)
        {
            owned.Handed = undelivered[^1].Id!;
        }
    }

    /// <summary>Reads a partition's state entries a page at a time into <paramref name="pages"/>, and completes it (with the failure, if any).</summary>
    private async Task ReadPagesAsync(int partition, System.Threading.Channels.ChannelWriter<HashEntry[]> pages, CancellationToken stop)
    {
        await Task.Yield();
        try
        {
            var page = new List<HashEntry>(PartitionStore.RestorePage);
            await foreach (var entry in _store.ReadStateAsync(partition).WithCancellation(stop).ConfigureAwait(false))
            {
                page.Add(entry);
                if (page.Count == PartitionStore.RestorePage)
                {
                    await pages.WriteAsync([.. page], stop).ConfigureAwait(false);
                    page.Clear();
                }
            }

            if (page.Count > 0)
            {
                await pages.WriteAsync([.. page], stop).ConfigureAwait(false);
            }

            pages.Complete();
        }
#pragma warning disable CA1031 // Handed to the reader of the pages, which throws it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            pages.Complete(ex);
        }
    }

    /// <summary>A partition another epoch has taken: forget it and what it gathered.</summary>
    private async Task LoseAsync(OwnedPartition owned, CancellationToken stop)
    {
        _owned[owned.Partition] = null;
        _fenced++;
        Log.Fenced(_log, owned.Partition, owned.Epoch, null);
        await _window!.InvokeAsync(() => _window.Drop(owned.Partition), stop).ConfigureAwait(false);
        if (_owned.All(o => o is null))
        {
            _position = null;
        }
    }

    /// <summary>
    /// Reads the next entries into the head pipeline. A partition behind the reader's position takes it back there; one
    /// ahead of it is let in when the reader reaches its position (after the events before it have drained).
    /// </summary>
    private async Task<int> ReadAsync(CancellationToken stop)
    {
        if (_position is null)
        {
            return 0;
        }

        if (_owned.Any(o => o is { Accepted: false } && StreamIds.Compare(o.Position, _position) < 0))
        {
            // A partition taken over behind the reader (its rebalance was cut short before the commit that rewinds):
            // the reader goes back for it now; let in later, it would miss the entries in between.
            await DrainAsync(stop).ConfigureAwait(false);
            await RewindAsync(stop).ConfigureAwait(false);
        }

        var boundary = NextBoundary();
        var entries = boundary is null
            ? await _db.StreamReadAsync(_keys.Stream, _position, _options.ReadCount).ConfigureAwait(false)
            : await _db.StreamRangeAsync(_keys.Stream, "(" + _position, boundary, _options.ReadCount).ConfigureAwait(false);
        if (entries.Length > 0)
        {
            await FeedAsync(entries, stop).ConfigureAwait(false);
            _position = entries[^1].Id!;
        }

        if (boundary is not null && (entries.Length < _options.ReadCount || _position == boundary))
        {
            // Everything up to the boundary is read (a full page may end exactly on it): once it has drained, the
            // partitions committed there join, before the reader goes past it.
            _position = boundary;
            await DrainAsync(stop).ConfigureAwait(false);
            Accept();
        }

        return entries.Length;
    }

    private async Task FeedAsync(StreamEntry[] entries, CancellationToken stop)
    {
        var events = new List<T>(entries.Length);
        foreach (var entry in entries)
        {
            var json = entry["event"];
            T? item = default;
            string? problem = null;
            if (json.IsNull)
            {
                problem = "the entry has no 'event' field";
            }
            else
            {
                try
                {
                    item = JsonSerializer.Deserialize<T>(((ReadOnlyMemory<byte>)json).Span, _eventJson); // UTF-8 as it came: no transcoding
                    problem = item is null ? "the event is JSON null" : null;
                }
                catch (JsonException ex)
                {
                    problem = $"the event is not valid JSON for {typeof(T).Name}: {ex.Message}";
                }
            }

            if (problem is null)
            {
                events.Add(item!);
                continue;
            }

            // An unreadable entry is dead-lettered by the owner of the partition its id maps to.
            var id = (string)entry.Id!;
            var partition = PartitionOf(Encoding.UTF8.GetBytes(id));
            if (Accepts(partition))
            {
                _owned[partition]!.Gather(
                    c => c.AddDead(("source", id), ("event", json.IsNull ? RedisValue.EmptyString : json), ("stage", "(read)"), ("reason", "Unreadable"), ("message", problem)),
                    dead: 1);
            }
        }

        if (events.Count > 0)
        {
            // A stop does not cut a batch in two: the head may be full (a slow stage), and the chunks it already took
            // would be committed with a position before them and counted again by the next owner. The write waits for
            // room until half a lease after the stop; if it is cut then, the stop commits nothing (see StopAsync).
            using var grace = new CancellationTokenSource();
            using var graceful = stop.Register(() => grace.CancelAfter(_options.Lease / 2));
            try
            {
                await _head!.WriteBatchAsync(events.ToArray(), grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _torn = true;
                throw;
            }
        }

        _read += entries.Length;
    }

    /// <summary>The committed position of the nearest partition ahead of the reader, or <see langword="null"/>.</summary>
    private string? NextBoundary()
    {
        string? boundary = null;
        foreach (var owned in _owned)
        {
            if (owned is { Accepted: false } && StreamIds.Compare(owned.Position, _position!) > 0)
            {
                boundary = boundary is null ? owned.Position : StreamIds.Min(boundary, owned.Position);
            }
        }

        return boundary;
    }

    /// <summary>
    /// Lets in the partitions committed exactly at the reader's position (called while the head is drained); the ones
    /// ahead of it wait (after a rewind, the ones it had let in too). One behind it that is not in stays out: it has
    /// not seen the entries in between, and only a rewind to its position lets it in.
    /// </summary>
    private void Accept()
    {
        foreach (var owned in _owned)
        {
            if (owned is not null)
            {
                var order = StreamIds.Compare(owned.Position, _position!);
                if (order > 0)
                {
                    owned.Accepted = false;
                }
                else if (order == 0)
                {
                    owned.Accepted = true;
                }
            }
        }
    }

    /// <summary>Waits (at most half a lease) until the stages after the window have taken every result handed to them.</summary>
    private async Task WaitForTailAsync(CancellationToken stop)
    {
        var deadline = NowMs() + ((long)_options.Lease.TotalMilliseconds / 2);
        while (_tail!.GetMetrics().InFlight > 0 && NowMs() < deadline)
        {
            stop.ThrowIfCancellationRequested();
            await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until every event read has passed the window (delivered to it, filtered, dead-lettered or late).</summary>
    private async Task DrainAsync(CancellationToken stop)
    {
        while (_head!.GetMetrics().InFlight > 0)
        {
            stop.ThrowIfCancellationRequested();
            await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The barrier and the commit: drains the head, exports each partition that is let in, commits them all (each in one
    /// script), hands the committed results on, then releases the partitions assigned elsewhere and takes the reader back
    /// to the oldest position a newly taken partition has.
    /// </summary>
    private async Task CommitAsync(CancellationToken stop)
    {
        if (_owned.All(o => o is null))
        {
            return;
        }

        await DrainAsync(stop).ConfigureAwait(false);
        if (_tail!.GetMetrics().InFlight == 0)
        {
            foreach (var owned in _owned)
            {
                if (owned?.Handed is { } handed)
                {
                    owned.Delivered = handed;
                }
            }
        }

        var commits = new List<(OwnedPartition Owned, PartitionCommit Commit, PartitionCounts Gathered)>();
        var position = _position;
        await _window!.InvokeAsync(() =>
        {
            var streamMax = _window.StreamMaxTimestamp;
            foreach (var owned in _owned)
            {
                if (owned is { Accepted: true })
                {
                    var clock = _window.Export(owned.Partition, owned.Pending);
                    var (commit, gathered) = owned.Take();
                    commit.Clock = clock;
                    commit.StreamMaxTimestamp = streamMax;
                    commits.Add((owned, commit, gathered));
                }
            }
        }, stop).ConfigureAwait(false);

        var now = NowMs();
        var until = now + (long)_options.Lease.TotalMilliseconds;
        var keep = $"{now - (long)_options.Retention.TotalMilliseconds}-0";
        var sent = commits.Select(c =>
        {
            var counts = c.Owned.Counts;
            var g = c.Gathered;
            c.Commit.Position = position!;
            c.Commit.Sequence = c.Owned.Sequence + 1;
            c.Commit.Delivered = c.Owned.Delivered;
            c.Commit.Final = c.Owned.Final;
            c.Commit.Counts = new PartitionCounts(counts.Read + g.Read, counts.Windowed + g.Windowed, counts.Late + g.Late, counts.DeadLettered + g.DeadLettered, counts.Filtered + g.Filtered, counts.Results + g.Results);
            return SendAsync(c.Owned, c.Commit, c.Gathered, now, until, (keep, keep, keep), stop);
        }).ToList();
        await Task.WhenAll(sent).ConfigureAwait(false);

        var releasing = _owned.Where(o => o is { Release: true }).Select(o => o!).ToList();
        if (releasing.Count > 0)
        {
            // A hand-over records what the stages after the window took, so the next owner delivers nothing twice.
            await WaitForTailAsync(stop).ConfigureAwait(false);
            var delivered = releasing.Where(o => o.Handed is not null && o.Handed != o.Delivered).Select(o =>
            {
                var note = new PartitionCommit
                {
                    Position = o.Position,
                    Clock = o.Clock,
                    StreamMaxTimestamp = o.StreamMaxTimestamp,
                    Counts = o.Counts,
                    Sequence = o.Sequence + 1,
                    Delivered = o.Handed,
                    Final = o.Final,
                };
                o.Delivered = o.Handed!;
                return SendAsync(o, note, default, now, until, (keep, keep, keep), stop);
            });
            await Task.WhenAll(delivered).ConfigureAwait(false);
        }

        foreach (var owned in _owned)
        {
            if (owned is { Release: true })
            {
                await WhileRedisIsAwayAsync(() => _store.ReleaseAsync(owned.Partition, owned.Epoch), stop).ConfigureAwait(false);
                _owned[owned.Partition] = null;
                await _window.InvokeAsync(() => _window.Drop(owned.Partition), stop).ConfigureAwait(false);
                Log.Released(_log, owned.Partition, owned.Epoch, null);
            }
        }

        await RewindAsync(stop).ConfigureAwait(false);
    }

    private async Task SendAsync(OwnedPartition owned, PartitionCommit commit, PartitionCounts gathered, long now, long until, (string, string, string) trims, CancellationToken stop)
    {
        var (outcome, last) = await WhileRedisIsAwayAsync(() => _store.CommitAsync(owned.Partition, owned.Epoch, commit, now, until, trims), stop).ConfigureAwait(false);
        if (outcome == PartitionStore.CommitOutcome.Fenced)
        {
            await LoseAsync(owned, stop).ConfigureAwait(false);
            return;
        }

        _commits++;
        lock (_owned)
        {
            var d = _done;
            _done = new PartitionCounts(d.Read + gathered.Read, d.Windowed + gathered.Windowed, d.Late + gathered.Late, d.DeadLettered + gathered.DeadLettered, d.Filtered + gathered.Filtered, d.Results + gathered.Results);
        }

        owned.Position = commit.Position;
        owned.Sequence = commit.Sequence;
        owned.Counts = commit.Counts;
        owned.Clock = commit.Clock;
        owned.StreamMaxTimestamp = commit.StreamMaxTimestamp;
        owned.CommittedAt = now;
        foreach (var result in commit.Results)
        {
            await _tail!.WriteJsonAsync((string)result!, stop).ConfigureAwait(false);
        }

        if (last is not null)
        {
            owned.Handed = last;
        }
    }

    /// <summary>Takes the reader back to the oldest committed position among the partitions it holds, and lets in those at it.</summary>
    private async Task RewindAsync(CancellationToken stop)
    {
        string? oldest = null;
        OwnedPartition? first = null;
        foreach (var owned in _owned)
        {
            if (owned is not null && (oldest is null || StreamIds.Compare(owned.Position, oldest) < 0))
            {
                oldest = owned.Position;
                first = owned;
            }
        }

        if (oldest is null)
        {
            _position = null;
            return;
        }

        if (_position is null || StreamIds.Compare(oldest, _position) < 0)
        {
            // Back to where the oldest partition committed; event time as it was there.
            _position = oldest;
            var restoredMax = first!.StreamMaxTimestamp;
            await _window!.InvokeAsync(() => _window.StreamMaxTimestamp = restoredMax, stop).ConfigureAwait(false);
        }

        Accept();
    }

    /// <summary>
    /// Whether the input is complete (<see cref="PartitionedOptions.ExitWhenIdle"/>): no new entry for that long,
    /// and every partition has committed its processing to the last entry. Then this worker fires the remaining windows
    /// of its partitions (once: they are marked final in the same commit), and the input counts as complete for it once
    /// every partition of the computation is final — a partition whose owner died waits for its next owner.
    /// </summary>
    private async Task<bool> InputCompleteAsync(CancellationToken stop)
    {
        var now = NowMs();
        string last;
        try
        {
            last = (await _db.StreamInfoAsync(_keys.Stream).ConfigureAwait(false)).LastGeneratedId!;
        }
        catch (RedisServerException ex) when (ex.Message.Contains("no such key", StringComparison.OrdinalIgnoreCase))
        {
            last = PartitionCursor.Start;
        }

        if (last != _lastInput || _lastInputAt == long.MinValue)
        {
            _lastInput = last;
            _lastInputAt = now;
            return false;
        }

        if (now - _lastInputAt < (long)_options.ExitWhenIdle!.Value.TotalMilliseconds
            || (_position is not null && StreamIds.Compare(_position, last) < 0)
            || _owned.Any(o => o is { Accepted: false }))
        {
            return false;
        }

        var cursors = await Task.WhenAll(Enumerable.Range(0, _keys.Partitions).Select(p => _store.ReadCursorAsync(p))).ConfigureAwait(false);
        if (cursors.Any(c => !c.Final && StreamIds.Compare(c.Position, last) < 0))
        {
            return false; // a partition has not processed the input to its end yet
        }

        var firing = _owned.Where(o => o is { Final: false }).Select(o => o!).ToList();
        if (firing.Count > 0)
        {
            await _window!.InvokeAsync(() => firing.ForEach(o => _window.FireAll(o.Partition)), stop).ConfigureAwait(false);
            firing.ForEach(o => o.Final = true);
            await CommitAsync(stop).ConfigureAwait(false);
            return false;
        }

        return cursors.All(c => c.Final);
    }

    /// <summary>
    /// Trims the input below what every reader of it has processed: this computation's partitions (their lowest committed
    /// position, which it records among the stream's readers), every other partitioned computation on the stream, and
    /// every consumer group (its oldest pending entry, or the last one it was handed).
    /// </summary>
    private async Task TrimInputAsync()
    {
        var cursors = await Task.WhenAll(Enumerable.Range(0, _keys.Partitions).Select(p => _store.ReadCursorAsync(p))).ConfigureAwait(false);
        var mine = cursors.Select(c => c.Position).Aggregate(StreamIds.Min);
        await _db.HashSetAsync(_keys.Readers, _keys.Reader, mine).ConfigureAwait(false);
        var needed = (await _db.HashValuesAsync(_keys.Readers).ConfigureAwait(false)).Select(v => (string)v!).Aggregate(mine, StreamIds.Min);
        StreamGroupInfo[] groups;
        try
        {
            groups = await _db.StreamGroupInfoAsync(_keys.Stream).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("no such key", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        foreach (var group in groups)
        {
            var pending = group.PendingMessageCount > 0 ? (await _db.StreamPendingAsync(_keys.Stream, group.Name).ConfigureAwait(false)).LowestPendingMessageId : RedisValue.Null;
            needed = StreamIds.Min(needed, pending.IsNull ? group.LastDeliveredId ?? PartitionCursor.Start : (string)pending!);
        }

        if (needed != PartitionCursor.Start)
        {
            await _db.StreamTrimByMinIdAsync(_keys.Stream, needed, useApproximateMaxLength: true).ConfigureAwait(false);
        }
    }

    private async Task StopAsync()
    {
        try
        {
            foreach (var owned in _owned)
            {
                if (owned is not null)
                {
                    owned.Release = true;
                }
            }

            using var timeout = new CancellationTokenSource(_options.Lease);
            if (_torn)
            {
                // Part of a batch is in the window with no position for it: commit nothing, hand the partitions over
                // at once; the next owner resumes from their last commit.
                Log.StoppedMidBatch(_log, null);
                foreach (var owned in _owned.Where(o => o is not null).Select(o => o!).ToList())
                {
                    await _store.ReleaseAsync(owned.Partition, owned.Epoch).ConfigureAwait(false);
                    _owned[owned.Partition] = null;
                }
            }

            await CommitAsync(timeout.Token).ConfigureAwait(false);
            await _tail!.CompleteAsync(timeout.Token).ConfigureAwait(false);
            await _store.LeaveAsync(_options.Consumer).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A stop that cannot commit leaves the partitions to the lease: the next owner resumes from the last commit.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.StopFailed(_log, ex.Message, ex);
        }
        finally
        {
            await _head!.DisposeAsync().ConfigureAwait(false);
            await _tail!.Pipeline.DisposeAsync().ConfigureAwait(false);
            _ownMeter?.Dispose(); // a host's meter factory disposes the meters it made
            _ownMeter = null;
        }
    }

    private async Task<TResult> WhileRedisIsAwayAsync<TResult>(Func<Task<TResult>> call, CancellationToken stop)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisOutage.IsOutage(ex))
            {
                Interlocked.Increment(ref _outages);
                Log.Outage(_log, _options.Stream, ex.Message, null);
                await Task.Delay(delay, _time, stop).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }
    }

    private Task<bool> WhileRedisIsAwayAsync(Func<Task> call, CancellationToken stop) =>
        WhileRedisIsAwayAsync(async () =>
        {
            await call().ConfigureAwait(false);
            return true;
        }, stop);

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Redis is away ({Stream}): {Problem}; waiting")]
        public static partial void Outage(ILogger logger, string stream, string problem, Exception? exception);

        [LoggerMessage(2, LogLevel.Information, "Took partition {Partition} (epoch {Epoch}) at position {Position}, {Entries} state entries restored in {Milliseconds} ms")]
        public static partial void Restored(ILogger logger, int partition, long epoch, string position, long entries, long milliseconds, Exception? exception);

        [LoggerMessage(3, LogLevel.Warning, "Partition {Partition} (epoch {Epoch}) was taken by another worker; what it did since its last commit is dropped")]
        public static partial void Fenced(ILogger logger, int partition, long epoch, Exception? exception);

        [LoggerMessage(4, LogLevel.Information, "Handed partition {Partition} (epoch {Epoch}) over")]
        public static partial void Released(ILogger logger, int partition, long epoch, Exception? exception);

        [LoggerMessage(6, LogLevel.Warning, "Stopped in the middle of a batch the stages before the window could not take within half a lease; nothing since the last commit is committed, the partitions are handed over from there")]
        public static partial void StoppedMidBatch(ILogger logger, Exception? exception);

        [LoggerMessage(5, LogLevel.Error, "The final commit failed ({Problem}); the partitions resume from their last commit once their leases run out")]
        public static partial void StopFailed(ILogger logger, string problem, Exception? exception);
    }
}


