using System.Text.Json;

namespace EventStream;

/// <summary>
/// A ready-made event for users who do not bring their own type: an id, a type, the source that
/// produced it, an event-time timestamp in Unix epoch milliseconds and a JSON payload.
/// </summary>
/// <param name="Id">A producer-assigned identifier, unique per event.</param>
/// <param name="Type">What happened, for example <c>page_view</c> or <c>click</c>.</param>
/// <param name="Source">Who produced it, for example a site id.</param>
/// <param name="Timestamp">Event time, in milliseconds since the Unix epoch (UTC).</param>
/// <param name="Data">The payload, as a JSON element (usually an object).</param>
public sealed record PipelineEvent(string Id, string Type, string Source, long Timestamp, JsonElement Data)
{
    /// <summary>Gets the event time as a <see cref="DateTimeOffset"/> (UTC).</summary>
    public DateTimeOffset Time => DateTimeOffset.FromUnixTimeMilliseconds(Timestamp);

    /// <summary>
    /// Reads a string property of <see cref="Data"/>, or <see langword="null"/> when <see cref="Data"/> is not an
    /// object, has no such property, or the property is not a string.
    /// </summary>
    /// <param name="property">The property name.</param>
    /// <returns>The string value, or <see langword="null"/>.</returns>
    public string? GetString(string property)
    {
        ArgumentNullException.ThrowIfNull(property);
        return Data.ValueKind == JsonValueKind.Object
            && Data.TryGetProperty(property, out var value)
            && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
    }
}
