namespace EventStream.Windowing;

/// <summary>Session windows: <c>[t, t + gap)</c> per event, merged per key with every window they intersect.</summary>
internal sealed class SessionAssigner : WindowAssigner
{
    public SessionAssigner(long gap) => Gap = gap;

    public long Gap { get; }

    public override string ToString() => $"session({Gap} ms)";
}
