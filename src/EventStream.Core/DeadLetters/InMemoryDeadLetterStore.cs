using EventStream.DeadLetters;

namespace EventStream;

/// <summary>
/// A dead-letter store in process memory, oldest entry first. Entries are lost with the process; use a durable store
/// (such as the Redis one) where that matters. Thread-safe.
/// </summary>
/// <remarks>
/// The store is full when it holds <see cref="InMemoryDeadLetterStoreOptions.Capacity"/> entries or
/// <see cref="InMemoryDeadLetterStoreOptions.CapacityBytes"/> approximate bytes, whichever comes first (see
/// <see cref="Bytes"/> for what an entry counts). Removing, replaying and discarding entries free both.
/// </remarks>
public sealed class InMemoryDeadLetterStore : IDeadLetterStore
{
    private readonly object _gate = new();
    private readonly LinkedList<DeadLetterEntry> _entries = new();
    private readonly Dictionary<string, LinkedListNode<DeadLetterEntry>> _byId = new(StringComparer.Ordinal);

    // Each entry's place in the store (1, 2, ...; kept when it is replaced): what a page's cursor names.
    private readonly Dictionary<string, long> _places = new(StringComparer.Ordinal);
    private long _lastPlace;
    private readonly InMemoryDeadLetterStoreOptions _options;
    private TaskCompletionSource? _roomAvailable;
    private long _bytes;

    /// <summary>Creates a store with default options.</summary>
    public InMemoryDeadLetterStore()
        : this(new InMemoryDeadLetterStoreOptions())
    {
    }

    /// <summary>Creates a store.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="ArgumentException">The capacity or the capacity in bytes is below 1.</exception>
    public InMemoryDeadLetterStore(InMemoryDeadLetterStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Capacity < 1)
        {
            throw new ArgumentException($"InMemoryDeadLetterStoreOptions.Capacity must be at least 1 (was {options.Capacity}).", nameof(options));
        }

        if (options.CapacityBytes < 1)
        {
            throw new ArgumentException($"InMemoryDeadLetterStoreOptions.CapacityBytes must be at least 1 (was {options.CapacityBytes}).", nameof(options));
        }

        _options = new InMemoryDeadLetterStoreOptions { Capacity = options.Capacity, CapacityBytes = options.CapacityBytes, FullMode = options.FullMode };
    }

    /// <inheritdoc />
    public bool IsFull
    {
        get
        {
            lock (_gate)
            {
                return _options.FullMode == DeadLetterFullMode.RejectIngest && AtCapacityLocked();
            }
        }
    }

    /// <summary>Gets the number of entries.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>
    /// Gets the approximate bytes the entries hold, as counted toward <see cref="InMemoryDeadLetterStoreOptions.CapacityBytes"/>:
    /// per entry a fixed overhead of 256 bytes, two bytes per character of its strings (id, pipeline, stage, exception
    /// type, message), and its event's size: two bytes per character of a <see cref="string"/> (or of a
    /// <see cref="System.Text.Json.JsonElement"/>'s JSON text, or of the <see cref="object.ToString"/> of any other
    /// event), the length of a byte array.
    /// </summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask AddAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_options.FullMode == DeadLetterFullMode.RejectIngest || !AtCapacityLocked())
                {
                    AddLocked(entry);
                    return;
                }

                _roomAvailable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _roomAvailable.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Adds past the capacity; used when a cancelled pipeline must record what it still held.</summary>
    ValueTask IDeadLetterStore.AddPastCapacityAsync(DeadLetterEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_gate)
        {
            AddLocked(entry);
        }

        return default;
    }

    /// <inheritdoc />
    public ValueTask ReplaceAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_gate)
        {
            if (_byId.TryGetValue(entry.Id, out var node))
            {
                _bytes += SizeOf(entry) - SizeOf(node.Value);
                node.Value = entry;
            }
            else
            {
                AddLocked(entry);
            }
        }

        return default;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DeadLetterEntry>> ListAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var result = new List<DeadLetterEntry>(Math.Min(limit, 1024));
        lock (_gate)
        {
            for (var node = _entries.First; node is not null && result.Count < limit; node = node.Next)
            {
                if (pipeline is null || string.Equals(node.Value.Pipeline, pipeline, StringComparison.Ordinal))
                {
                    result.Add(node.Value);
                }
            }
        }

        return new ValueTask<IReadOnlyList<DeadLetterEntry>>(result);
    }

    /// <inheritdoc />
    public ValueTask<DeadLetterListPage> ListPageAsync(string? pipeline, int limit, string? after, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var from = DeadLetterPaging.Position(after);
        var page = new List<DeadLetterEntry>(Math.Min(limit, 1024));
        long last = 0;
        var more = false;
        lock (_gate)
        {
            for (var node = _entries.First; node is not null; node = node.Next)
            {
                if (!InScope(node.Value, pipeline) || _places[node.Value.Id] <= from)
                {
                    continue;
                }

                if (page.Count == limit)
                {
                    more = true;
                    break;
                }

                page.Add(node.Value);
                last = _places[node.Value.Id];
            }
        }

        return new ValueTask<DeadLetterListPage>(new DeadLetterListPage(page, more ? DeadLetterPaging.Cursor(last) : null));
    }

    /// <inheritdoc />
    public ValueTask<long> CountAsync(string? pipeline = null, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (pipeline is null)
            {
                return new ValueTask<long>(_entries.Count);
            }

            long count = 0;
            foreach (var entry in _entries)
            {
                if (string.Equals(entry.Pipeline, pipeline, StringComparison.Ordinal))
                {
                    count++;
                }
            }

            return new ValueTask<long>(count);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> RemoveAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        TaskCompletionSource? wake = null;
        bool removed;
        lock (_gate)
        {
            removed = _byId.Remove(id, out var node);
            if (removed)
            {
                _places.Remove(id);
                _entries.Remove(node!);
                _bytes -= SizeOf(node!.Value);
                wake = _roomAvailable;
                _roomAvailable = null;
            }
        }

        wake?.TrySetResult();
        return new ValueTask<bool>(removed);
    }

    /// <inheritdoc />
    /// <remarks>Discards in place, under the store's lock: one step, atomic with respect to every other call.</remarks>
    public ValueTask<long> DiscardAsync(string? pipeline, DeadLetterDiscard filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        filter.ThrowIfEmpty();
        cancellationToken.ThrowIfCancellationRequested();
        long discarded = 0;
        TaskCompletionSource? wake = null;
        lock (_gate)
        {
            if (filter.Ids is { } ids)
            {
                foreach (var id in ids)
                {
                    if (_byId.TryGetValue(id, out var node) && InScope(node.Value, pipeline) && filter.MatchesReasonAndTime(node.Value))
                    {
                        RemoveLocked(node);
                        discarded++;
                    }
                }
            }
            else
            {
                for (var node = _entries.First; node is not null;)
                {
                    var next = node.Next;
                    if (InScope(node.Value, pipeline) && filter.MatchesReasonAndTime(node.Value))
                    {
                        RemoveLocked(node);
                        discarded++;
                    }

                    node = next;
                }
            }

            if (discarded > 0)
            {
                wake = _roomAvailable;
                _roomAvailable = null;
            }
        }

        wake?.TrySetResult();
        return new ValueTask<long>(discarded);
    }

    /// <summary>An entry's approximate size in bytes (see <see cref="Bytes"/>).</summary>
    internal static long SizeOf(DeadLetterEntry entry)
    {
        const long Overhead = 256;
        long chars = entry.Id.Length + entry.Pipeline.Length + entry.Stage.Length + (entry.ExceptionType?.Length ?? 0) + (entry.Message?.Length ?? 0);
        long eventBytes = entry.Event switch
        {
            null => 0,
            string text => 2L * text.Length,
            byte[] bytes => bytes.Length,
            System.Text.Json.JsonElement json => 2L * json.GetRawText().Length,
            var other => 2L * (other.ToString()?.Length ?? 0),
        };
        return Overhead + (2 * chars) + eventBytes;
    }

    private static bool InScope(DeadLetterEntry entry, string? pipeline) =>
        pipeline is null || string.Equals(entry.Pipeline, pipeline, StringComparison.Ordinal);

    private bool AtCapacityLocked() => _entries.Count >= _options.Capacity || _bytes >= _options.CapacityBytes;

    private void AddLocked(DeadLetterEntry entry)
    {
        if (_byId.ContainsKey(entry.Id))
        {
            throw new InvalidOperationException($"A dead letter with id '{entry.Id}' is already recorded.");
        }

        _byId.Add(entry.Id, _entries.AddLast(entry));
        _places.Add(entry.Id, ++_lastPlace);
        _bytes += SizeOf(entry);
    }

    private void RemoveLocked(LinkedListNode<DeadLetterEntry> node)
    {
        _byId.Remove(node.Value.Id);
        _places.Remove(node.Value.Id);
        _entries.Remove(node);
        _bytes -= SizeOf(node.Value);
    }
}
