namespace EventStream;

/// <summary>
/// A dead-letter store in process memory, oldest entry first. Entries are lost with the process; use a durable store
/// (such as the Redis one) where that matters. Thread-safe.
/// </summary>
public sealed class InMemoryDeadLetterStore : IDeadLetterStore
{
    private readonly object _gate = new();
    private readonly LinkedList<DeadLetterEntry> _entries = new();
    private readonly Dictionary<string, LinkedListNode<DeadLetterEntry>> _byId = new(StringComparer.Ordinal);
    private readonly InMemoryDeadLetterStoreOptions _options;
    private TaskCompletionSource? _roomAvailable;

    /// <summary>Creates a store with default options.</summary>
    public InMemoryDeadLetterStore()
        : this(new InMemoryDeadLetterStoreOptions())
    {
    }

    /// <summary>Creates a store.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="ArgumentException">The capacity is below 1.</exception>
    public InMemoryDeadLetterStore(InMemoryDeadLetterStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Capacity < 1)
        {
            throw new ArgumentException($"InMemoryDeadLetterStoreOptions.Capacity must be at least 1 (was {options.Capacity}).", nameof(options));
        }

        _options = new InMemoryDeadLetterStoreOptions { Capacity = options.Capacity, FullMode = options.FullMode };
    }

    /// <inheritdoc />
    public bool IsFull
    {
        get
        {
            lock (_gate)
            {
                return _options.FullMode == DeadLetterFullMode.RejectIngest && _entries.Count >= _options.Capacity;
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

    /// <inheritdoc />
    public async ValueTask AddAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_options.FullMode == DeadLetterFullMode.RejectIngest || _entries.Count < _options.Capacity)
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
                _entries.Remove(node!);
                wake = _roomAvailable;
                _roomAvailable = null;
            }
        }

        wake?.TrySetResult();
        return new ValueTask<bool>(removed);
    }

    private void AddLocked(DeadLetterEntry entry)
    {
        if (_byId.ContainsKey(entry.Id))
        {
            throw new InvalidOperationException($"A dead letter with id '{entry.Id}' is already recorded.");
        }

        _byId.Add(entry.Id, _entries.AddLast(entry));
    }
}
