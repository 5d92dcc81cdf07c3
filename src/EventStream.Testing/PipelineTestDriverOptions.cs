using System.ComponentModel.DataAnnotations;

namespace EventStream.Testing;

/// <summary>Options of a <see cref="PipelineTestDriver{TIn, TOut}"/>.</summary>
public sealed class PipelineTestDriverOptions
{
    /// <summary>Gets or sets the time the driver's fake clock starts at.</summary>
    /// <value>The default value is <see cref="DateTimeOffset.UnixEpoch"/>, so processing time in ms is the time since the start.</value>
    public DateTimeOffset StartTime { get; set; } = PipelineTestDriverDefaults.StartTime;

    /// <summary>
    /// Gets or sets how long (in real time) a step may wait for the pipeline to become quiescent before it fails with a
    /// <see cref="TimeoutException"/> that names the busy stages. A guard against a handler that waits for something the
    /// driver does not control (a real delay, a lock); a pipeline that only computes settles in microseconds.
    /// </summary>
    /// <value>The default value is 10 s.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan SettleTimeout { get; set; } = PipelineTestDriverDefaults.SettleTimeout;
}

/// <summary>The defaults of <see cref="PipelineTestDriverOptions"/>.</summary>
internal static class PipelineTestDriverDefaults
{
    public static readonly DateTimeOffset StartTime = DateTimeOffset.UnixEpoch;

    public static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);
}
