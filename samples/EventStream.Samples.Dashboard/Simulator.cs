namespace EventStream.Samples.Dashboard;

/// <summary>
/// Traffic for four sites at a steady rate, with a spike (eight times the rate on one site for five seconds) about
/// every 40 seconds, so the page is alive on first start. Pages follow a Zipf-like popularity, users come from a pool.
/// Each view is the envelope a site posts (<see cref="PipelineEvent"/>: <c>source</c> the site, <c>data.url</c>,
/// <c>data.userId</c>), admitted through the pipeline the HTTP door admits into (<see cref="DashboardPipeline.ApiKey"/>).
/// </summary>
public sealed partial class Simulator(IEventPipeline<PipelineEvent> door, TimeProvider time, ILogger<Simulator> logger, double rate) : BackgroundService
{
    private static readonly string[] Sites = ["shop.example", "news.example", "docs.example", "blog.example"];
    private static readonly string[] Pages = ["/", "/products", "/cart", "/checkout", "/search", "/about", "/pricing", "/blog/launch", "/docs/start", "/docs/api", "/contact", "/careers"];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var random = new Random(7);
        var tick = TimeSpan.FromMilliseconds(100);
        var carry = 0.0;
        var spikeSite = -1;
        var spikeUntil = 0L;
        var nextSpike = time.GetUtcNow().ToUnixTimeMilliseconds() + 20_000;
        using var timer = new PeriodicTimer(tick, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            if (now >= nextSpike)
            {
                spikeSite = random.Next(Sites.Length);
                spikeUntil = now + 5_000;
                nextSpike = now + random.Next(30_000, 50_000);
                LogSpike(logger, Sites[spikeSite]);
            }

            carry += rate * tick.TotalSeconds;
            var count = (int)carry;
            carry -= count;
            var batch = new List<PipelineEvent>(count * 2);
            for (var i = 0; i < count; i++)
            {
                batch.Add(Next(random, random.Next(Sites.Length), now, ++_sent));
            }

            if (now < spikeUntil && spikeSite >= 0)
            {
                for (var i = 0; i < count * 7 / Sites.Length; i++)
                {
                    batch.Add(Next(random, spikeSite, now, ++_sent));
                }
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                door.Ingest(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(batch));
            }
            catch (Exception ex) when (ex is BackpressureException or DeadLetterStoreFullException or StackExchange.Redis.RedisException or TimeoutException)
            {
                LogRefused(logger, ex.Message); // like a real site, it drops the batch and goes on
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulating a spike on {Site}")]
    private static partial void LogSpike(ILogger logger, string site);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Simulated batch refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);

    private long _sent;

    private static PipelineEvent Next(Random random, int site, long now, long id)
    {
        var page = Pages[Math.Min(Pages.Length - 1, (int)(Pages.Length * Math.Pow(random.NextDouble(), 2.5)))];
        return PageViews.Envelope("sim-" + id.ToString(System.Globalization.CultureInfo.InvariantCulture), Sites[site], "u" + random.Next(site * 1000, (site * 1000) + 400), page, now);
    }
}
