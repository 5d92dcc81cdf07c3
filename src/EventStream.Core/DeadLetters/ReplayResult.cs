namespace EventStream;

/// <summary>The outcome of replaying dead letters.</summary>
/// <param name="Replayed">Entries whose event passed the stage that had failed; they left the store.</param>
/// <param name="FailedAgain">Entries whose event failed again; they stay in the store, re-recorded.</param>
/// <param name="Skipped">Entries that could not be replayed here (unknown stage, wrong event type, or already being replayed); they stay in the store.</param>
public sealed record ReplayResult(int Replayed, int FailedAgain, int Skipped);
