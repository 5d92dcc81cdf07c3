using System.Text.Json;

namespace EventStream.Redis;

/// <summary>Options of <see cref="RedisStreamProducer{T}"/>.</summary>
public sealed class RedisStreamOptions
{
    /// <summary>Gets or sets the stream key. Each entry has one field, <c>event</c>, holding the event's JSON, so any Redis client can produce.</summary>
    public string Stream { get; set; } = string.Empty;

    /// <summary>
    /// Gets or sets the consumer group whose lag drives backpressure, or <see langword="null"/> for none. The producer
    /// creates the group (from the first entry) when its consumers have not yet.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Group { get; set; }

    /// <summary>Gets or sets the group lag (entries not yet delivered to the group) past which publishing is refused.</summary>
    /// <value>The default value is 100,000.</value>
    public long LagThreshold { get; set; } = 100_000;

    /// <summary>Gets or sets how long a lag reading is reused before the group is asked again (one <c>XINFO GROUPS</c>).</summary>
    /// <value>The default value is 250 ms.</value>
    public TimeSpan LagCheckInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Gets or sets the JSON options events are written with.</summary>
    /// <value>The default value is <see langword="null"/>: <see cref="System.Text.Json.JsonSerializerOptions.Web"/> (camelCase, read case-insensitively), as any other client would write.</value>
    public JsonSerializerOptions? Json { get; set; }

    /// <summary>Gets or sets the clock of the lag readings and the drain rate.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
