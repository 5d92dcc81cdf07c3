using System.Runtime.CompilerServices;

namespace EventStream.Tests;

/// <summary>
/// The system clock, except that the first reading of the timestamp on each flow that has called
/// <see cref="JoinRendezvous"/> waits until as many such flows have arrived as there are parties, or until the
/// timeout has passed. Used to make concurrent callers of one method meet inside it, at the point where it reads the
/// clock; if they cannot both get there (because the method serialises them), each goes on after the timeout.
/// </summary>
internal sealed class RendezvousTimeProvider(int parties, TimeSpan timeout) : TimeProvider
{
    private readonly CountdownEvent _arrived = new(parties);
    private readonly AsyncLocal<StrongBox<bool>?> _joined = new();

    /// <summary>Marks the calling flow: its next reading of the timestamp is the meeting point.</summary>
    public void JoinRendezvous() => _joined.Value = new StrongBox<bool>(true);

    public override long GetTimestamp()
    {
        if (_joined.Value is { Value: true } pending)
        {
            pending.Value = false;
            _arrived.Signal();
            _arrived.Wait(timeout);
        }

        return base.GetTimestamp();
    }
}
