using EventStream.Redis;
using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// The dashboard's computation on Redis (<c>--redis</c>): its input stream, its name (the group, shared by every
/// instance, so that they share its partitions and its stored definition), and the keys the dashboard keeps beside it.
/// </summary>
public sealed class DashboardRedis
{
    /// <summary>The first part of every key of the computation and of the dashboard's own keys.</summary>
    public const string KeyPrefix = "dashboard";

    /// <summary>The default input stream (<c>--stream</c>).</summary>
    public const string DefaultStream = "dashboard:events";

    /// <summary>The default name of the computation (<c>--group</c>): the same on every instance, so they share the work.</summary>
    public const string DefaultGroup = "dashboard";

    /// <summary>How long the computation keeps its committed results, late events and dead letters (one retention for all three).</summary>
    /// <remarks>
    /// The window fires every key every second (about 50 results a second for the simulated traffic), so the library's
    /// default of 7 days would keep some 30 million results; the page needs the last 5 minutes. But the retention is also
    /// how long a dead letter waits for its replay: an hour is the compromise.
    /// </remarks>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(1);

    /// <summary>How often each partition commits: the figures of all instances trail the input by about this much.</summary>
    public static readonly TimeSpan CommitInterval = TimeSpan.FromMilliseconds(500);

    public DashboardRedis(string configuration, PartitionedOptions partitioned, int capacity)
    {
        Configuration = configuration;
        Partitioned = partitioned;
        Capacity = capacity;
        var computation = $"{KeyPrefix}:{Escape(partitioned.Stream)}|{Escape(partitioned.Group)}";
        FaultKey = computation + ":fault";
        ReplayLockKey = computation + ":replaying";
        RejectedPrefix = computation + ":rejected";

        // The committed results of each partition, where RedisPartitionedPipeline.ReadResultsAsync reads them
        // (prefix:{stream|group|pNN}:results, braces and '%' percent-encoded): that method reads them all from the start,
        // once, and the live figures need to follow them from where they were read, so the key layout is repeated here
        // (and checked against ReadResultsAsync by the tests).
        ResultStreams = [.. Enumerable.Range(0, partitioned.Partitions).Select(p =>
            (RedisKey)$"{partitioned.KeyPrefix}:{{{Escape(partitioned.Stream)}|{Escape(partitioned.Group)}|p{p.ToString("D2", CultureInfo.InvariantCulture)}}}:results")];
    }

    /// <summary>Gets the StackExchange.Redis configuration string (<c>--redis</c>).</summary>
    public string Configuration { get; }

    /// <summary>Gets the options the pipeline runs partitioned with (stream, group, consumer, partitions, timing).</summary>
    public PartitionedOptions Partitioned { get; }

    /// <summary>Gets the backlog of the input stream past which posts are refused (<c>--capacity</c>).</summary>
    public int Capacity { get; }

    /// <summary>Gets the key of the demo fault switch, shared by the instances.</summary>
    public string FaultKey { get; }

    /// <summary>Gets the key of the lock one replay at a time holds.</summary>
    public string ReplayLockKey { get; }

    /// <summary>Gets the key prefix of the store of the bad elements of POSTs (a <see cref="RedisDeadLetterStore"/>).</summary>
    public string RejectedPrefix { get; }

    /// <summary>Gets the committed results stream of each partition.</summary>
    public IReadOnlyList<RedisKey> ResultStreams { get; }

    private static string Escape(string value) => new StringBuilder(value).Replace("%", "%25").Replace("{", "%7B").Replace("}", "%7D").ToString();
}
