namespace EventStream.Windowing;

/// <summary>The aggregate (or a selector it calls) threw while an event was added: the event's failure, not the stage's.</summary>
internal sealed class AggregateFailedException(Exception inner) : Exception(inner.Message, inner);
