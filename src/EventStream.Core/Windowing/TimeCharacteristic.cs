namespace EventStream;

/// <summary>Whose clock drives a window stage.</summary>
public enum TimeCharacteristic
{
    /// <summary>Event time: each event's own timestamp, with a watermark (the default).</summary>
    EventTime = 0,

    /// <summary>Processing time: the pipeline's <see cref="TimeProvider"/> stamps each event as it arrives; for "right now" views.</summary>
    ProcessingTime = 1,
}
