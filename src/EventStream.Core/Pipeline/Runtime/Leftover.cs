using System.Diagnostics;

namespace EventStream;

/// <summary>An event that was still in flight when the pipeline was cancelled; it is dead-lettered as <c>Canceled</c>.</summary>
/// <param name="Stage">The stage it was at or about to enter.</param>
/// <param name="Item">The event.</param>
/// <param name="Attempts">The attempts the stage had made.</param>
/// <param name="Trace">The trace context the event was admitted under, or none.</param>
internal readonly record struct Leftover(string Stage, object? Item, int Attempts, ActivityContext Trace = default);
