namespace EventStream;

/// <summary>The kinds of stage a builder adds.</summary>
internal enum StageKind
{
    Transform,
    Filter,
    Deduplicate,
    Enrich,
    FanOut,
    Window,
    Sink,
}
