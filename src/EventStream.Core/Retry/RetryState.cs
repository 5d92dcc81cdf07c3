using EventStream.DeadLetters;
using System.Diagnostics;

namespace EventStream.Retry;

/// <summary>Where an event is in its attempts at one stage; <see langword="null"/> stands for a first attempt.</summary>
[DebuggerDisplay("Attempt {Attempt}, first failure {FirstFailure}")]
internal sealed class RetryState
{
    public RetryState(int attempt, DateTimeOffset firstFailure, ReplayTicket? ticket)
    {
        Attempt = attempt;
        FirstFailure = firstFailure;
        Ticket = ticket;
    }

    /// <summary>The attempt about to be made (2 for the first retry; 1 for a replay).</summary>
    public int Attempt { get; }

    public DateTimeOffset FirstFailure { get; }

    /// <summary>The dead letter being replayed, when the event came back by replay.</summary>
    public ReplayTicket? Ticket { get; }
}
