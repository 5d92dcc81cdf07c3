using System.Text.Json;

namespace EventStream.Redis;

/// <summary>
/// How a pipeline runs partitioned over a Redis stream (see <see cref="RedisPartitionedWorker{T}"/>): the input stream,
/// the computation's name, the partition count and the timing of commits and leases. Workers of one computation use the
/// same <see cref="Stream"/>, <see cref="Group"/>, <see cref="KeyPrefix"/> and <see cref="Partitions"/>, and the same pipeline.
/// </summary>
public sealed class PartitionedOptions
{
    /// <summary>Gets or sets the input stream any client writes to (entry field <c>event</c> = the event's JSON).</summary>
    public string Stream { get; set; } = string.Empty;

    /// <summary>Gets or sets the computation's name: workers with the same stream and group share its partitions.</summary>
    public string Group { get; set; } = string.Empty;

    /// <summary>Gets or sets this worker's name, unique among the workers of the computation.</summary>
    public string Consumer { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>Gets or sets the prefix of the computation's keys.</summary>
    public string KeyPrefix { get; set; } = "es";

    /// <summary>
    /// Gets or sets the number of partitions, fixed at the computation's first start (like Flink's maximum parallelism):
    /// at most this many workers share the work. A worker started with another count is refused.
    /// </summary>
    public int Partitions { get; set; } = 16;

    /// <summary>Gets or sets how often each owned partition commits (a crashed worker's successor repeats at most this much work).</summary>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets how long a dead worker's partitions wait before another takes them.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how many entries one read takes.</summary>
    public int ReadCount { get; set; } = 1000;

    /// <summary>Gets or sets how long committed results, late events and dead letters are kept in their streams (trimmed in each commit).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Gets or sets how long the input must have had no new entry before it counts as complete: once every partition has
    /// processed it to the end, each owner fires its remaining windows (once) and the workers exit. <see langword="null"/>
    /// (the default): the input never completes; the worker runs until it is stopped.
    /// </summary>
    public TimeSpan? ExitWhenIdle { get; set; }

    /// <summary>Gets or sets the JSON options events are read with; <see langword="null"/> for the web defaults.</summary>
    public JsonSerializerOptions? Json { get; set; }

    /// <summary>Gets or sets the clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Every problem of the options, one sentence each (empty when they are valid): check them before connecting, as
    /// <see cref="RedisPartitionedPipeline.BuildPartitioned{TIn, TOut}"/> does.
    /// </summary>
    /// <returns>The problems.</returns>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Stream))
        {
            problems.Add("Stream is required");
        }

        if (string.IsNullOrWhiteSpace(Group))
        {
            problems.Add("Group is required");
        }

        if (string.IsNullOrWhiteSpace(Consumer))
        {
            problems.Add("Consumer is required");
        }

        if (string.IsNullOrWhiteSpace(KeyPrefix) || KeyPrefix.Contains('{', StringComparison.Ordinal) || KeyPrefix.Contains('}', StringComparison.Ordinal))
        {
            problems.Add($"KeyPrefix must be non-empty and contain no braces (was '{KeyPrefix}')");
        }

        if (Partitions is < 1 or > 1024)
        {
            problems.Add($"Partitions must be between 1 and 1024 (was {Partitions})");
        }

        if (CommitInterval < TimeSpan.FromMilliseconds(10))
        {
            problems.Add($"CommitInterval must be at least 10 ms (was {CommitInterval})");
        }

        if (Lease < TimeSpan.FromMilliseconds(100) || Lease <= CommitInterval)
        {
            problems.Add($"Lease must be at least 100 ms and longer than CommitInterval (was {Lease}, commit interval {CommitInterval})");
        }

        if (ReadCount < 1)
        {
            problems.Add($"ReadCount must be at least 1 (was {ReadCount})");
        }

        if (Retention < TimeSpan.FromMinutes(1))
        {
            problems.Add($"Retention must be at least a minute (was {Retention})");
        }

        return problems;
    }
}
