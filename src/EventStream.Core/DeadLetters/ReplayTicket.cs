using System.Diagnostics;

namespace EventStream.DeadLetters;

/// <summary>A dead letter being replayed: completes when its event has passed the stage that had failed, or failed again.</summary>
[DebuggerDisplay("Replay of {Entry.Id,nq}: {Outcome.Status}")]
internal sealed class ReplayTicket
{
    private readonly TaskCompletionSource<bool> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ReplayTicket(DeadLetterEntry entry)
    {
        Entry = entry;
    }

    public DeadLetterEntry Entry { get; }

    /// <summary><see langword="true"/> when the event passed its stage, <see langword="false"/> when it failed again (and was re-recorded).</summary>
    public Task<bool> Outcome => _outcome.Task;

    public void Succeeded() => _outcome.TrySetResult(true);

    public void Failed() => _outcome.TrySetResult(false);
}
