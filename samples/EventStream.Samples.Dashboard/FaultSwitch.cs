namespace EventStream.Samples.Dashboard;

/// <summary>The demo fault: while on, the "geo" stage fails for checkout pages (their events are dead-lettered).</summary>
public sealed class FaultSwitch
{
    private volatile bool _enabled;

    public bool Enabled
    {
        get => _enabled;
        set => _enabled = value;
    }
}
