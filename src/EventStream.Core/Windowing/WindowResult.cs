namespace EventStream.Windowing;

/// <summary>Why a window emitted a result.</summary>
public enum WindowFiring
{
    /// <summary>An in-progress value, emitted on processing time before the watermark reached the window's end.</summary>
    Early = 0,

    /// <summary>The watermark passed the window's end (or the input completed): the regular result.</summary>
    OnTime = 1,

    /// <summary>An update: an event within the allowed lateness reached a window that had already fired.</summary>
    Late = 2,
}

/// <summary>One firing of one window of one key.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The aggregate's result type.</typeparam>
/// <param name="Key">The key.</param>
/// <param name="Start">The window start, epoch milliseconds (inclusive).</param>
/// <param name="End">The window end, epoch milliseconds (exclusive).</param>
/// <param name="Value">The aggregate over the window's events so far.</param>
/// <param name="Count">How many events the window holds.</param>
/// <param name="Firing">What kind of firing this is.</param>
/// <param name="FiringNumber">How many times this window has fired, this firing included (1 for the first).</param>
public sealed record WindowResult<TKey, TValue>(TKey Key, long Start, long End, TValue Value, long Count, WindowFiring Firing, int FiringNumber);
