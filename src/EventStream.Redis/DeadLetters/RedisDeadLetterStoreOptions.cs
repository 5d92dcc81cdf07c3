namespace EventStream.Redis;

/// <summary>Options of <see cref="RedisDeadLetterStore"/>.</summary>
public sealed class RedisDeadLetterStoreOptions
{
    /// <summary>
    /// Gets or sets the prefix of every key. Keys are <c>{prefix}:dlq:…</c>: the braces make the prefix a hash tag, so all
    /// of a store's keys live in one Redis Cluster slot and its scripts stay atomic there.
    /// </summary>
    /// <value>The default value is <c>eventstream</c>.</value>
    public string KeyPrefix { get; set; } = "eventstream";

    /// <summary>
    /// Gets or sets how an entry's event type name is resolved when entries are read back. Return <see langword="null"/>
    /// to get the event as a <see cref="System.Text.Json.JsonElement"/>.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: <see cref="Type.GetType(string)"/>.</value>
    public Func<string, Type?>? ResolveType { get; set; }

    /// <summary>Gets or sets the JSON options events are written and read with.</summary>
    /// <value>The default value is <see langword="null"/>: <see cref="System.Text.Json.JsonSerializerOptions.Web"/> (camelCase, read case-insensitively), as any other client would write.</value>
    public System.Text.Json.JsonSerializerOptions? Json { get; set; }
}
