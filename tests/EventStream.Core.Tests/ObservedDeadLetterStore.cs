
namespace EventStream.Tests;

/// <summary>
/// A dead-letter store that hands every call to an inner store and lets a test see the calls: how many adds have
/// started and how many have finished (an add that has started and not finished is waiting for room), and, through
/// <see cref="FailAdd"/>, makes an add throw.
/// </summary>
internal sealed class ObservedDeadLetterStore(IDeadLetterStore inner) : IDeadLetterStore
{
    private int _addsStarted;
    private int _addsFinished;

    /// <summary>Gets or sets a failure for the next adds: called per add, an exception it returns is thrown instead of adding.</summary>
    public Func<DeadLetterEntry, Exception?>? FailAdd { get; set; }

    public int AddsStarted => Volatile.Read(ref _addsStarted);

    public int AddsFinished => Volatile.Read(ref _addsFinished);

    public bool IsFull => inner.IsFull;

    public async ValueTask AddAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _addsStarted);
        try
        {
            if (FailAdd?.Invoke(entry) is { } failure)
            {
                throw failure;
            }

            await inner.AddAsync(entry, cancellationToken);
        }
        finally
        {
            Interlocked.Increment(ref _addsFinished);
        }
    }

    public ValueTask ReplaceAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default) => inner.ReplaceAsync(entry, cancellationToken);

    public ValueTask<IReadOnlyList<DeadLetterEntry>> ListAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default) =>
        inner.ListAsync(pipeline, limit, cancellationToken);

    public ValueTask<long> CountAsync(string? pipeline = null, CancellationToken cancellationToken = default) => inner.CountAsync(pipeline, cancellationToken);

    public ValueTask<bool> RemoveAsync(string id, CancellationToken cancellationToken = default) => inner.RemoveAsync(id, cancellationToken);
}
