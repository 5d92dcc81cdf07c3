using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventStream.Samples.Clickstream;

/// <summary>
/// Generates page views as customer sites' trackers would send them: four sites of different size, page popularity
/// following a Zipf law (the home page and a few hits take most views, a long tail the rest), about 8 % bot traffic
/// crawling pages at random, ~0.5 % events from an old tracker (v1) that names the address <c>page</c> instead of
/// <c>url</c>, and a rare corrupt payload (a proxy that double-encoded and truncated the body).
/// </summary>
internal sealed class TrafficGenerator(TimeProvider time)
{
    private const double BotShare = 0.08;
    private const double TrackerV1Share = 0.005;
    private const double CorruptShare = 0.0005;
    private const int UsersPerSite = 50_000;

    private static readonly Site[] Sites =
    [
        new("shop.example.com", 0.40, ["/", "/deals", "/cart", "/checkout", "/search", .. Pages("/products/", 200), .. Pages("/category/", 20)]),
        new("news.example.org", 0.30, ["/", "/world", "/tech", "/sport", .. Pages("/article/", 400)]),
        new("docs.example.dev", 0.20, ["/", "/getting-started", "/api", .. Pages("/guides/", 60), .. Pages("/api/type-", 120)]),
        new("blog.example.net", 0.10, ["/", "/about", .. Pages("/posts/", 80)]),
    ];

    private static readonly string[] HumanAgents =
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
    ];

    private static readonly string[] BotAgents =
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "python-requests/2.32.3",
    ];

    // Web defaults (camelCase); relaxed escaping keeps '+' and '"' readable when a payload is printed.
    private static readonly TrackerJson Json = new(new JsonSerializerOptions(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private readonly Random _random = new();
    private long _sequence;

    /// <summary>
    /// Offers <paramref name="rate"/> events per second for <paramref name="duration"/>, in batches. When the pipeline is
    /// full, <c>WriteBatchAsync</c> waits: that is backpressure, and the generator simply falls behind.
    /// </summary>
    public async Task RunAsync(IEventPipeline<PipelineEvent> pipeline, int rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        var buffer = new PipelineEvent[1024];
        var start = time.GetTimestamp();
        long offered = 0;
        try
        {
            while (time.GetElapsedTime(start) is var elapsed && elapsed < duration)
            {
                var due = (long)(elapsed.TotalSeconds * rate) - offered;
                if (due <= 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(5), time, cancellationToken);
                    continue;
                }

                var count = (int)Math.Min(due, buffer.Length);
                var now = time.GetUtcNow().ToUnixTimeMilliseconds();
                for (var i = 0; i < count; i++)
                {
                    buffer[i] = Next(now);
                }

                await pipeline.WriteBatchAsync(buffer.AsMemory(0, count), cancellationToken);
                offered += count;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C: stop offering traffic; what was admitted is still processed.
        }
    }

    /// <summary>One page view, sent by a browser about <paramref name="now"/> and arriving up to 1.5 s later.</summary>
    private PipelineEvent Next(long now)
    {
        var site = Pick();
        var isBot = _random.NextDouble() < BotShare;
        var page = isBot ? site.Pages[_random.Next(site.Pages.Length)] : site.Pages[site.Popularity.Sample(_random)];
        var url = $"https://{site.Host}{page}{(_random.Next(8) == 0 ? "?utm_source=newsletter" : "")}";
        var user = _random.Next(UsersPerSite);
        var userId = $"u{user:x5}";
        var agent = isBot ? BotAgents[_random.Next(BotAgents.Length)] : HumanAgents[user % HumanAgents.Length];
        var ip = isBot ? $"66.249.{_random.Next(64, 96)}.{_random.Next(256)}" : $"{(user * 7919 % 223) + 1}.{(user >> 8) & 255}.{user & 255}.{(user * 31) & 255}";

        var kind = _random.NextDouble();
        var data = kind < CorruptShare
            ? JsonSerializer.SerializeToElement($$"""{"url":"{{url}}","userId":"{{userId[..3]}}""", Json.String)
            : kind < CorruptShare + TrackerV1Share
                ? JsonSerializer.SerializeToElement(new TrackerV1Payload(url, userId, agent, ip), Json.TrackerV1Payload)
                : JsonSerializer.SerializeToElement(new TrackerV2Payload(url, userId, agent, ip), Json.TrackerV2Payload);

        var id = (++_sequence).ToString("x8", CultureInfo.InvariantCulture);
        return new PipelineEvent(id, "page_view", site.Host, now - _random.Next(1500), data);
    }

    private Site Pick()
    {
        var x = _random.NextDouble();
        foreach (var site in Sites)
        {
            if ((x -= site.Share) < 0)
            {
                return site;
            }
        }

        return Sites[^1];
    }

    private static IEnumerable<string> Pages(string prefix, int count) =>
        Enumerable.Range(1, count).Select(i => prefix + i.ToString(CultureInfo.InvariantCulture));

    /// <param name="Pages">The site's pages, most popular first.</param>
    private sealed record Site(string Host, double Share, string[] Pages)
    {
        public ZipfDistribution Popularity { get; } = new(Pages.Length, exponent: 1.1);
    }
}

/// <summary>Samples ranks 0..n-1 with probability proportional to 1 / (rank + 1)^exponent.</summary>
internal sealed class ZipfDistribution
{
    private readonly double[] _cumulative;

    public ZipfDistribution(int n, double exponent)
    {
        _cumulative = new double[n];
        var sum = 0.0;
        for (var k = 0; k < n; k++)
        {
            _cumulative[k] = sum += 1.0 / Math.Pow(k + 1, exponent);
        }

        for (var k = 0; k < n; k++)
        {
            _cumulative[k] /= sum;
        }
    }

    public int Sample(Random random)
    {
        var index = Array.BinarySearch(_cumulative, random.NextDouble());
        return Math.Min(index >= 0 ? index : ~index, _cumulative.Length - 1);
    }
}

/// <summary>What the current tracker (v2) sends.</summary>
internal sealed record TrackerV2Payload(string Url, string UserId, string UserAgent, string Ip);

/// <summary>What the old tracker (v1) sends: the same, but the address is called <c>page</c>.</summary>
internal sealed record TrackerV1Payload(string Page, string UserId, string UserAgent, string Ip);

[JsonSerializable(typeof(TrackerV2Payload))]
[JsonSerializable(typeof(TrackerV1Payload))]
[JsonSerializable(typeof(string))]
internal sealed partial class TrackerJson : JsonSerializerContext;
