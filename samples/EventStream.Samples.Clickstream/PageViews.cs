using System.Buffers;
using System.Net;
using System.Text.Json;

namespace EventStream.Samples.Clickstream;

/// <summary>A page view after parsing: what every stage behind "parse" works on.</summary>
/// <param name="Url">The page, normalised to host + path (the query string does not make a different page).</param>
/// <param name="Timestamp">Event time, Unix epoch milliseconds.</param>
internal sealed record PageView(string Site, string Url, string UserId, string UserAgent, string Ip, long Timestamp)
{
    /// <summary>Gets the visitor's country; set by the "geo" stage.</summary>
    public string? Country { get; init; }
}

/// <summary>
/// The "parse" stage. A payload it cannot read throws <see cref="FormatException"/>, which the default retry filter
/// treats as permanent: the event is dead-lettered at once, with no pointless retries.
/// </summary>
internal sealed class PageViewParser
{
    private volatile bool _acceptTrackerV1;

    /// <summary>
    /// Gets or sets whether payloads of the old tracker (v1), which names the address <c>page</c> instead of <c>url</c>,
    /// are understood. Off at first — the bug — and switched on by the "fix" before the dead letters are replayed.
    /// </summary>
    public bool AcceptTrackerV1
    {
        get => _acceptTrackerV1;
        set => _acceptTrackerV1 = value;
    }

    public PageView Parse(PipelineEvent e)
    {
        if (e.Data.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"Payload is a JSON {e.Data.ValueKind.ToString().ToLowerInvariant()}, not an object.");
        }

        var url = e.GetString("url") ?? (AcceptTrackerV1 ? e.GetString("page") : null)
            ?? throw new FormatException("Payload has no 'url' property.");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new FormatException($"'{url}' is not an absolute URL.");
        }

        return new PageView(
            Site: e.Source,
            Url: uri.Host + uri.AbsolutePath,
            UserId: e.GetString("userId") ?? "anonymous",
            UserAgent: e.GetString("userAgent") ?? "",
            Ip: e.GetString("ip") ?? "",
            Timestamp: e.Timestamp);
    }
}

/// <summary>The "drop-bots" filter: crawlers and scripts are not readers.</summary>
internal static class BotDetector
{
    private static readonly SearchValues<string> Markers =
        SearchValues.Create(["bot", "spider", "crawler", "python-requests", "curl/", "HeadlessChrome"], StringComparison.OrdinalIgnoreCase);

    public static bool IsBot(string userAgent) => userAgent.Length == 0 || userAgent.AsSpan().ContainsAny(Markers);
}

/// <summary>
/// The "geo" enrich stage: a simulated geo-IP service. Most answers come from a local cache at once; a few need a round
/// trip; and the service is flaky — about one call in a hundred fails with a 503. The pipeline retries those with
/// back-off while the events behind them go on, so none is lost.
/// </summary>
internal sealed class GeoService(double failureRate = 0.01, double missRate = 0.002)
{
    private static readonly string[] Countries = ["US", "US", "US", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "NL", "SE"];

    public async ValueTask<PageView> EnrichAsync(PageView view, CancellationToken cancellationToken)
    {
        if (Random.Shared.NextDouble() < missRate)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(2), cancellationToken); // a cache miss: ask the remote service
        }

        if (Random.Shared.NextDouble() < failureRate)
        {
            throw new HttpRequestException("geo-ip service answered 503 Service Unavailable (simulated)", null, HttpStatusCode.ServiceUnavailable);
        }

        return view with { Country = CountryOf(view.Ip) };
    }

    private static string CountryOf(string ip)
    {
        var firstOctet = int.TryParse(ip.AsSpan(0, Math.Max(0, ip.IndexOf('.', StringComparison.Ordinal))), out var octet) ? octet : 0;
        return Countries[firstOctet % Countries.Length];
    }
}
