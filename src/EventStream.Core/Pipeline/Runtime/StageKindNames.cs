namespace EventStream;

/// <summary>The names stage kinds go by in messages and metrics.</summary>
internal static class StageKindNames
{
    public static string DisplayName(this StageKind kind) => kind switch
    {
        StageKind.Transform => "transform",
        StageKind.Filter => "filter",
        StageKind.Deduplicate => "deduplicate",
        StageKind.Enrich => "enrich",
        StageKind.FanOut => "fan-out",
        StageKind.Window => "window",
        _ => "sink",
    };
}
