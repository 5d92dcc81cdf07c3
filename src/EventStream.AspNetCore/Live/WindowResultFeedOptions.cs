namespace EventStream.AspNetCore;

/// <summary>Options of a <see cref="WindowResultFeed{TKey, TValue}"/>.</summary>
public sealed class WindowResultFeedOptions
{
    /// <summary>Gets or sets how often the results gathered are sent, as one message.</summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets how long a connection may go without a message before a heartbeat comment is sent (proxies close idle connections).</summary>
    /// <value>The default value is 15 seconds.</value>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Gets or sets how many recent messages are kept for clients that reconnect with <c>Last-Event-ID</c>.</summary>
    /// <value>The default value is 60 (a minute at the default interval).</value>
    public int Retained { get; set; } = 60;

    /// <summary>Gets or sets how many messages one client may have unread before its oldest are dropped (it is told, with a <c>gap</c> event).</summary>
    /// <value>The default value is 64.</value>
    public int ClientBuffer { get; set; } = 64;

    /// <summary>Gets or sets the clock of the interval and the heartbeat.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal IEnumerable<string> Problems()
    {
        if (Interval <= TimeSpan.Zero)
        {
            yield return $"Interval must be positive (was {Interval})";
        }

        if (HeartbeatInterval <= TimeSpan.Zero)
        {
            yield return $"HeartbeatInterval must be positive (was {HeartbeatInterval})";
        }

        if (Retained < 0)
        {
            yield return $"Retained must not be negative (was {Retained})";
        }

        if (ClientBuffer < 1)
        {
            yield return $"ClientBuffer must be positive (was {ClientBuffer})";
        }

        if (TimeProvider is null)
        {
            yield return "TimeProvider is required";
        }
    }
}
