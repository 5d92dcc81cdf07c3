namespace EventStream.Redis.Streams;

/// <summary>The checks every consumer of a stream shares: a stream key that can root its namespace, a group, a consumer name and a key prefix without braces.</summary>
internal static class StreamGroupProblems
{
    public static List<string> Of(string stream, string group, string consumer, string keyPrefix)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(stream))
        {
            problems.Add("Stream is required");
        }
        else if (RedisKeys.StreamProblem(stream) is { } problem)
        {
            problems.Add(problem);
        }

        if (string.IsNullOrWhiteSpace(group))
        {
            problems.Add("Group is required");
        }

        if (string.IsNullOrWhiteSpace(consumer))
        {
            problems.Add("Consumer is required");
        }

        if (string.IsNullOrWhiteSpace(keyPrefix) || keyPrefix.Contains('{', StringComparison.Ordinal) || keyPrefix.Contains('}', StringComparison.Ordinal))
        {
            problems.Add($"KeyPrefix must be non-empty and contain no braces (was '{keyPrefix}')");
        }

        return problems;
    }
}
