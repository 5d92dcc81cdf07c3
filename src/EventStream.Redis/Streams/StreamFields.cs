namespace EventStream.Redis.Streams;

/// <summary>Field names of a stream entry beside <c>event</c> (the event's JSON).</summary>
internal static class StreamFields
{
    /// <summary>The W3C <c>traceparent</c> of the publisher's activity, when one was current.</summary>
    public const string TraceParent = "traceparent";
}
