using EventStream.Redis.Streams;
using System.Globalization;
using System.Text.Json;

namespace EventStream.Redis;

/// <summary>Options of a <see cref="RedisStreamSource{T}"/>.</summary>
public sealed class RedisStreamSourceOptions
{
    /// <summary>Gets or sets the input stream (entry field <c>event</c> = the event's JSON).</summary>
    public string Stream { get; set; } = string.Empty;

    /// <summary>Gets or sets the consumer group shared by every process that feeds the same pipeline.</summary>
    public string Group { get; set; } = string.Empty;

    /// <summary>Gets or sets this process's consumer name, unique in the group.</summary>
    /// <value>The default value is the machine name, the process id and a random suffix.</value>
    public string Consumer { get; set; } = string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");

    /// <summary>Gets or sets the first part of the dead-letter stream's key (<c>prefix:{stream}:group:dead</c>, or <c>prefix:{tag}:stream:group:dead</c> for a stream key with a hash tag).</summary>
    /// <value>The default value is <c>es</c>.</value>
    public string KeyPrefix { get; set; } = "es";

    /// <summary>Gets or sets how many entries one read takes.</summary>
    /// <value>The default value is 500.</value>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// Gets or sets how often what was read is acknowledged: reading pauses until the pipeline holds nothing in flight
    /// (every event delivered, filtered, dead-lettered or late), then the entries read so far are acknowledged together.
    /// </summary>
    /// <value>The default value is 100 ms.</value>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Gets or sets how long an entry may stay pending before another consumer claims it (a process that died).</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan ClaimIdleTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how many deliveries an entry gets before it goes to the dead-letter stream (its process crashed on it each time).</summary>
    /// <value>The default value is 5.</value>
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>Gets or sets the longest wait between reads of an idle stream (the first wait is 1 ms, doubling).</summary>
    /// <value>The default value is 250 ms.</value>
    public TimeSpan MaxPollDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Gets or sets the JSON options events are read with.</summary>
    /// <value>The default value is <see langword="null"/>: <see cref="System.Text.Json.JsonSerializerOptions.Web"/> (camelCase, read case-insensitively), as any other client would write.</value>
    public JsonSerializerOptions? Json { get; set; }

    /// <summary>Gets or sets the clock of polling and checkpoints.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Returns every problem with these options.</summary>
    internal IReadOnlyList<string> Problems()
    {
        var problems = StreamGroupProblems.Of(Stream, Group, Consumer, KeyPrefix);

        if (BatchSize is < 1 or > 10_000)
        {
            problems.Add($"BatchSize must be 1..10000 (was {BatchSize})");
        }

        if (CheckpointInterval <= TimeSpan.Zero || ClaimIdleTime < TimeSpan.FromMilliseconds(10) || MaxPollDelay <= TimeSpan.Zero)
        {
            problems.Add("CheckpointInterval and MaxPollDelay must be positive and ClaimIdleTime at least 10 ms");
        }

        if (MaxDeliveries < 1)
        {
            problems.Add($"MaxDeliveries must be at least 1 (was {MaxDeliveries})");
        }

        return problems;
    }
}
