using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EventStream.Benchmarks;

/// <summary>A raw click as a producer hands it over; <see cref="UrlId"/> is set when the ingest already interned the URL.</summary>
public readonly record struct ClickEvent(int Id, string Url, int UrlId, long TimestampMs, int UserId);

/// <summary>How much work the transform does per event.</summary>
public enum WorkloadWeight
{
    /// <summary>
    /// The weight of the design's reference measurement (a fused loop at ~50M events/s): the event carries its URL id, so
    /// the transform is arithmetic and the only hash lookup is the sink's count per (url, minute).
    /// </summary>
    Reference,

    /// <summary>Heavier: the transform also looks the URL string up in a dictionary (hashing ~45 characters per event).</summary>
    UrlLookup,
}

/// <summary>A click after the transform: the URL as an id, the timestamp as a minute.</summary>
public readonly record struct PageView(int Id, int UrlId, long Minute, int UserId);

/// <summary>A page view after the enrich stage (a lookup of the user's region).</summary>
public readonly record struct EnrichedView(int Id, int UrlId, long Minute, int Region);

/// <summary>
/// The benchmark workload: the pre-built events and the stage logic every variant runs. Transform, filter and enrich
/// are instance methods here, so EventStream, TPL Dataflow, System.Reactive and the fused loop call the very same code.
/// </summary>
public sealed class Workload
{
    public const int UrlCount = 1_000;
    public const int MinuteCount = 60;
    public const int UserCount = 100_000;
    public const int RegionCount = 16;
    public const long StartMs = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    private readonly Dictionary<string, int> _urlIds;
    private readonly int[] _regionOfUser;
    private readonly bool _lookUpUrl;

    private Workload(ClickEvent[] events, Dictionary<string, int> urlIds, int[] regionOfUser, WorkloadWeight weight)
    {
        Events = events;
        _urlIds = urlIds;
        _regionOfUser = regionOfUser;
        Weight = weight;
        _lookUpUrl = weight == WorkloadWeight.UrlLookup;
    }

    public WorkloadWeight Weight { get; }

    public ClickEvent[] Events { get; }

    /// <summary>Builds <paramref name="count"/> events deterministically (seeded).</summary>
    public static Workload Create(int count, WorkloadWeight weight = WorkloadWeight.UrlLookup, int seed = 20_260_101)
    {
        var random = new Random(seed);
        var urls = new string[UrlCount];
        var urlIds = new Dictionary<string, int>(UrlCount, StringComparer.Ordinal);
        for (var i = 0; i < UrlCount; i++)
        {
            urls[i] = $"https://shop.example.com/catalogue/item-{i:D4}";
            urlIds.Add(urls[i], i);
        }

        var regionOfUser = new int[UserCount];
        for (var i = 0; i < UserCount; i++)
        {
            regionOfUser[i] = random.Next(RegionCount);
        }

        var events = new ClickEvent[count];
        for (var i = 0; i < count; i++)
        {
            var url = random.Next(UrlCount);
            events[i] = new ClickEvent(
                i,
                urls[url],
                url,
                StartMs + random.NextInt64(MinuteCount * 60_000L),
                random.Next(UserCount));
        }

        return new Workload(events, urlIds, regionOfUser, weight);
    }

    /// <summary>Transform: normalise the URL to its id (looked up, or as carried) and the timestamp to its minute.</summary>
    public PageView Normalise(ClickEvent click) =>
        new(click.Id, _lookUpUrl ? _urlIds[click.Url] : click.UrlId, click.TimestampMs / 60_000, click.UserId);

    /// <summary>Filter: drops the ~10 % of traffic from the bot accounts (user ids divisible by 10).</summary>
    public bool Keep(PageView view) => view.UserId % 10 != 0;

    /// <summary>Enrich: an in-memory lookup that completes synchronously, as a cache hit does.</summary>
    public ValueTask<EnrichedView> Enrich(PageView view, CancellationToken cancellationToken) =>
        new(new EnrichedView(view.Id, view.UrlId, view.Minute, _regionOfUser[view.UserId]));

    /// <summary>The enrich stage for the synchronous peers (Dataflow, Rx, the fused loop): same lookup, no Task.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public EnrichedView EnrichNow(PageView view)
    {
        var pending = Enrich(view, CancellationToken.None);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }
}

/// <summary>The sink: a count per (url, minute). Single-threaded in every variant.</summary>
public sealed class UrlMinuteCounts
{
    private readonly Dictionary<(int Url, long Minute), long> _counts = new(Workload.UrlCount * Workload.MinuteCount);

    public long Total { get; private set; }

    public int Keys => _counts.Count;

    public void Add(EnrichedView view)
    {
        ref var count = ref CollectionsMarshal.GetValueRefOrAddDefault(_counts, (view.UrlId, view.Minute), out _);
        count++;
        Total++;
    }

    /// <summary>Empties the counts; the dictionary keeps its buckets, so a steady-state run allocates nothing here.</summary>
    public void Clear()
    {
        _counts.Clear();
        Total = 0;
    }

    /// <summary>An order-independent digest of every (key, count) pair, to compare variants.</summary>
    public Fingerprint GetFingerprint()
    {
        ulong digest = 0;
        foreach (var ((url, minute), count) in _counts)
        {
            var h = ((ulong)(uint)url * 0x9E3779B97F4A7C15UL) ^ ((ulong)minute * 0xC2B2AE3D27D4EB4FUL);
            digest += (h ^ (h >> 29)) * (ulong)count;
        }

        return new Fingerprint(Total, _counts.Count, digest);
    }

    public readonly record struct Fingerprint(long Total, int Keys, ulong Digest);
}
