using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace EventStream;

/// <summary>
/// Wakes a segment's worker: an auto-reset signal with one waiter, set by its input queue (events arrived, or the queue
/// was completed) and by its <see cref="WorkInbox"/> (a retry, a replay or a tick). A <see cref="Set"/> while the worker
/// is busy is remembered, so a wake-up is never lost; the worker re-checks everything after each wait, so an extra one
/// costs a loop. The awaitable is pooled: an idle worker waking costs no allocation.
/// </summary>
[DebuggerDisplay("{DebuggerState,nq}")]
internal sealed class WorkSignal : IValueTaskSource
{
    private const int Idle = 0;
    private const int Signaled = 1;
    private const int Waiting = 2;

    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _registration;
    private CancellationToken _waitToken;
    private int _state;
    private int _waits;

    private string DebuggerState => Volatile.Read(ref _state) switch
    {
        Signaled => "Signaled",
        Waiting => "Waiting",
        _ => "Idle",
    };

    /// <summary>Gets whether the worker is parked on this signal (for the test driver's quiescence check).</summary>
    internal bool IsWaiting => Volatile.Read(ref _state) == Waiting;

    /// <summary>Gets how many times the worker has parked on this signal: unchanged between two looks means it stayed parked.</summary>
    internal int Waits => Volatile.Read(ref _waits);

    /// <summary>Wakes the waiter, or lets the next wait return at once.</summary>
    public void Set()
    {
        while (true)
        {
            switch (Volatile.Read(ref _state))
            {
                case Signaled:
                    return;
                case Idle:
                    if (Interlocked.CompareExchange(ref _state, Signaled, Idle) == Idle)
                    {
                        return;
                    }

                    break;
                default:
                    if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
                    {
                        _core.SetResult(true);
                        return;
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// Forgets a set nobody waited for. The worker calls it before it looks for work, so a wake-up for work it is about to
    /// find anyway does not cost it an empty pass later; a set after this call is kept.
    /// </summary>
    public void Reset()
    {
        if (Volatile.Read(ref _state) == Signaled)
        {
            Interlocked.CompareExchange(ref _state, Idle, Signaled);
        }
    }

    /// <summary>Waits until <see cref="Set"/> is called (or returns at once when it was called since the last wait). One waiter at a time.</summary>
    public ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Signaled) == Signaled)
        {
            return default;
        }

        cancellationToken.ThrowIfCancellationRequested();
        Debug.Assert(Volatile.Read(ref _state) == Idle, "one waiter at a time");
        _core.Reset();
        _waitToken = cancellationToken;
        Interlocked.Increment(ref _waits); // before the state says Waiting, so a look that sees Waiting sees this wait's count
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) != Idle)
        {
            // Set between the two exchanges: consume it.
            Volatile.Write(ref _state, Idle);
            return default;
        }

        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(static s => ((WorkSignal)s!).Cancel(), this);
        }

        return new ValueTask(this, _core.Version);
    }

    void IValueTaskSource.GetResult(short token)
    {
        // The worker itself runs this, after the wait ended: no registration is being made concurrently.
        _registration.Dispose();
        _registration = default;
        _core.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void Cancel()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
        {
            _core.SetException(new OperationCanceledException(_waitToken));
        }
    }
}
