namespace EventStream.Redis;

/// <summary>The key layout of a consumer group's keys: the stream source, its dead-letter stream and their scripts (<see cref="Streams.StreamScripts"/>).</summary>
internal static class RedisKeys
{
    /// <summary>
    /// The namespace of a stream and group's keys, all in the stream's cluster slot: <c>prefix:{stream}:group</c> for a
    /// stream key without a hash tag, <c>prefix:{tag}:stream:group</c> for one with a tag (streams that share a tag are
    /// told apart).
    /// </summary>
    public static string Namespace(string prefix, string stream, string group)
    {
        var tag = HashTag(stream);
        return tag is null ? prefix + ":{" + stream + "}:" + group : prefix + ":{" + tag + "}:" + stream + ":" + group;
    }

    /// <summary>
    /// Why a stream key cannot be the root of a namespace in its own slot, or null. A key without a hash tag is hashed
    /// whole, so it is wrapped in braces itself; that only works when it holds no brace.
    /// </summary>
    public static string? StreamProblem(string stream) =>
        HashTag(stream) is null && (stream.Contains('{', StringComparison.Ordinal) || stream.Contains('}', StringComparison.Ordinal))
            ? $"Stream '{stream}' has a brace but no hash tag: use a key without braces or with a non-empty tag such as {{name}}:events"
            : null;

    /// <summary>The hash tag as Redis finds it (the text between the first '{' and the next '}', if not empty), or null.</summary>
    private static string? HashTag(string key)
    {
        var open = key.IndexOf('{', StringComparison.Ordinal);
        var close = open >= 0 ? key.IndexOf('}', open + 1) : -1;
        return close > open + 1 ? key[(open + 1)..close] : null;
    }
}
