namespace EventStream;

/// <summary>
/// The names under which pipelines report on <see cref="System.Diagnostics.ActivitySource"/>. Point OpenTelemetry at
/// <see cref="ActivitySourceName"/> (<c>AddSource("EventStream")</c>). Nothing is recorded, and no event pays for
/// tracing, until a listener samples the source.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><description><see cref="Ingest"/>: a producer span for each batch admitted through <c>Ingest</c> or
/// <c>WriteBatchAsync</c>, a child of the caller's current activity (say, the HTTP request), so it shares the request's
/// trace id. The batch carries its context through every queue of the pipeline.</description></item>
/// <item><description><see cref="Process"/>: a consumer span for each batch a segment processes, linked to the
/// <see cref="Ingest"/> span that brought the batch in: one span per batch and segment, never one per event.</description></item>
/// <item><description><see cref="Receive"/>: over Redis, the trace context travels in each stream entry (a
/// <c>traceparent</c> field beside <c>event</c>); the source continues it before it admits the entries.</description></item>
/// <item><description><see cref="Replay"/>: a span for each replay of dead letters, linked to the trace context each
/// replayed entry keeps (<see cref="DeadLetterEntry.TraceParent"/>).</description></item>
/// </list>
/// Every span carries the tag <see cref="PipelineTag"/>; <see cref="Process"/> spans also carry <see cref="StageTag"/>
/// (the segment's first stage) and each span the number of events in <see cref="BatchSizeTag"/>.
/// </remarks>
public static class EventStreamTracing
{
    /// <summary>The activity source's name: <c>EventStream</c>, the same as the meter's.</summary>
    public const string ActivitySourceName = "EventStream";

    /// <summary>The operation name of the span that admits a batch: <c>eventstream.ingest</c>.</summary>
    public const string Ingest = "eventstream.ingest";

    /// <summary>The operation name of the span that processes a batch in one segment: <c>eventstream.process</c>.</summary>
    public const string Process = "eventstream.process";

    /// <summary>The operation name of the span of a replay of dead letters: <c>eventstream.replay</c>.</summary>
    public const string Replay = "eventstream.replay";

    /// <summary>
    /// The operation name of the span that reads a run of entries from a Redis stream, a child of the trace context they
    /// were published under (the entry's <c>traceparent</c> field); their <see cref="Ingest"/> span is its child.
    /// </summary>
    public const string Receive = "eventstream.receive";

    /// <summary>The tag holding the pipeline's name.</summary>
    public const string PipelineTag = "eventstream.pipeline";

    /// <summary>The tag holding the name of the first stage of the segment that processes a batch.</summary>
    public const string StageTag = "eventstream.stage";

    /// <summary>The tag holding the number of events of a batch (or of entries replayed), after OpenTelemetry's messaging conventions.</summary>
    public const string BatchSizeTag = "messaging.batch.message_count";
}
