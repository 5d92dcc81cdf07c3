using System.Diagnostics;

namespace EventStream;

/// <summary>
/// The pipeline's <see cref="ActivitySource"/> and the spans it starts (see <see cref="EventStreamTracing"/>). Each
/// start returns <see langword="null"/> at the cost of one check while no listener is attached.
/// </summary>
internal static class PipelineTracing
{
    /// <summary>The most links a replay span carries; a larger replay links its first entries only.</summary>
    public const int MaxReplayLinks = 128;

    public static readonly ActivitySource Source = new(EventStreamTracing.ActivitySourceName, typeof(PipelineTracing).Assembly.GetName().Version?.ToString(3));

    /// <summary>Whether any listener is attached: the one check the hot path pays.</summary>
    public static bool IsEnabled => Source.HasListeners();

    /// <summary>A span for a batch being admitted, a child of the caller's current activity.</summary>
    public static Activity? StartIngest(string pipeline, int count)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(EventStreamTracing.Ingest, ActivityKind.Producer);
        if (activity is not null)
        {
            activity.DisplayName = $"ingest {pipeline}";
            activity.SetTag(EventStreamTracing.PipelineTag, pipeline);
            activity.SetTag(EventStreamTracing.BatchSizeTag, count);
        }

        return activity;
    }

    /// <summary>
    /// A span for entries read from an outside source (a Redis stream), continuing the trace context they were published
    /// under: the <see cref="StartIngest"/> span of their admission is its child, so the pipeline joins the publisher's trace.
    /// </summary>
    public static Activity? StartReceive(string source, ActivityContext? published, int count)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(EventStreamTracing.Receive, ActivityKind.Consumer, published ?? default);
        if (activity is not null)
        {
            activity.DisplayName = $"receive {source}";
            activity.SetTag("messaging.destination.name", source);
            activity.SetTag(EventStreamTracing.BatchSizeTag, count);
        }

        return activity;
    }

    /// <summary>
    /// A span for a batch a segment processes, a root linked to the context the batch was admitted under. Call it only
    /// from an async method of its own: it clears <see cref="Activity.Current"/> (a worker inherits whatever its starter had).
    /// </summary>
    public static Activity? StartProcess(string pipeline, string stage, ActivityContext admittedUnder, int count)
    {
        Activity.Current = null;
        ActivityLink[]? links = admittedUnder == default ? null : [new ActivityLink(admittedUnder)];
        var activity = Source.StartActivity(EventStreamTracing.Process, ActivityKind.Consumer, default(ActivityContext), links: links);
        if (activity is not null)
        {
            activity.DisplayName = $"process {pipeline} {stage}";
            activity.SetTag(EventStreamTracing.PipelineTag, pipeline);
            activity.SetTag(EventStreamTracing.StageTag, stage);
            activity.SetTag(EventStreamTracing.BatchSizeTag, count);
        }

        return activity;
    }

    /// <summary>A span for a replay of dead letters, linked to the trace context each entry keeps (the first <see cref="MaxReplayLinks"/>).</summary>
    public static Activity? StartReplay(string pipeline, IEnumerable<DeadLetterEntry> entries)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var links = new List<ActivityLink>();
        foreach (var entry in entries)
        {
            if (links.Count == MaxReplayLinks)
            {
                break;
            }

            if (Parse(entry.TraceParent) is { } context)
            {
                links.Add(new ActivityLink(context));
            }
        }

        var activity = Source.StartActivity(EventStreamTracing.Replay, ActivityKind.Internal, default(ActivityContext), links: links);
        if (activity is not null)
        {
            activity.DisplayName = $"replay {pipeline}";
            activity.SetTag(EventStreamTracing.PipelineTag, pipeline);
        }

        return activity;
    }

    /// <summary>The W3C <c>traceparent</c> of a context, or <see langword="null"/> for none.</summary>
    public static string? Format(ActivityContext context) =>
        context == default ? null : $"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-{(byte)context.TraceFlags:x2}";

    /// <summary>The context a W3C <c>traceparent</c> names, or <see langword="null"/> when it names none.</summary>
    public static ActivityContext? Parse(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context) ? context : null;
}
