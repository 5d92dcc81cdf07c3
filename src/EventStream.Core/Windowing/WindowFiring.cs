using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventStream;

/// <summary>Why a window emitted a result. In JSON (System.Text.Json) it is its name in camelCase: <c>"onTime"</c>.</summary>
[JsonConverter(typeof(WindowFiringJsonConverter))]
public enum WindowFiring
{
    /// <summary>An in-progress value, emitted on processing time before the watermark reached the window's end.</summary>
    Early = 0,

    /// <summary>The watermark passed the window's end (or the input completed): the regular result.</summary>
    OnTime = 1,

    /// <summary>An update: an event within the allowed lateness reached a window that had already fired.</summary>
    Late = 2,

    /// <summary>
    /// The pipeline stopped (a host shut down) before the watermark reached the window's end: the value covers the
    /// events so far, not the whole window, and is not final. A pipeline whose input completed fires
    /// <see cref="OnTime"/> instead; a pipeline run partitioned over Redis fires nothing when it stops (the next worker
    /// goes on with the window).
    /// </summary>
    Stopped = 3,
}

/// <summary>Writes a <see cref="WindowFiring"/> as its camelCase name (<c>"onTime"</c>); reads names in any case, and numbers.</summary>
internal sealed class WindowFiringJsonConverter() : JsonStringEnumConverter<WindowFiring>(JsonNamingPolicy.CamelCase);
