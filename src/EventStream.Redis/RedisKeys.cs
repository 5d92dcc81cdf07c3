namespace EventStream.Redis;

/// <summary>The key layout the window worker, the stream source and their scripts share.</summary>
internal static class RedisKeys
{
    /// <summary>
    /// The namespace of a stream and group's keys: <c>prefix:{tag}:group</c>, tag = the stream key's hash tag or the
    /// whole key — so every key of one stream's computation lands in the stream's cluster slot.
    /// </summary>
    public static string Namespace(string prefix, string stream, string group)
    {
        var open = stream.IndexOf('{', StringComparison.Ordinal);
        var close = open >= 0 ? stream.IndexOf('}', open + 1) : -1;
        var tag = close > open + 1 ? stream[(open + 1)..close] : stream;
        return prefix + ":{" + tag + "}:" + group;
    }
}
