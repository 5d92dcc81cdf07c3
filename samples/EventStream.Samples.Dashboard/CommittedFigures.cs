using System.Text.Json;
using System.Text.Json.Serialization;
using StackExchange.Redis;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// With <c>--redis</c>, feeds the live figures of this instance from the committed results of every partition of the
/// computation, whichever instance owns it: so each instance shows all sites, while its own window stage only fires
/// the windows of its own partitions. Follows each partition's results stream from 5 minutes back (the window's
/// length, so that a restarted instance sees the current windows and each site's history at once), polling with a short
/// back-off while nothing new is committed.
/// </summary>
/// <remarks>
/// Each committed result is the JSON the window stage wrote (System.Text.Json with the web defaults, firings as camelCase
/// names, see <c>PartitionedWorker.ResultJson</c>): a <see cref="WindowResult{TKey, TValue}"/> of
/// <see cref="FigureKey"/> and <see cref="WindowFigures"/>, read back here with the same options. A result may be read
/// twice (after a takeover); <see cref="LiveState.Update"/> keeps the newest window of each key, so that is harmless.
/// </remarks>
public sealed partial class CommittedFigures(IConnectionMultiplexer redis, DashboardRedis settings, LiveState live, TimeProvider time, ILogger<CommittedFigures> logger) : BackgroundService
{
    /// <summary>How far back a starting instance reads the committed results: the window's length.</summary>
    public static readonly TimeSpan History = TimeSpan.FromMinutes(5);

    /// <summary>The options the committed results are read with: those they are written with.</summary>
    public static readonly JsonSerializerOptions ResultJson = new(JsonSerializerOptions.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        NumberHandling = JsonSerializerOptions.Web.NumberHandling | JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static readonly TimeSpan MaxPollDelay = TimeSpan.FromMilliseconds(100);
    private long _read;

    /// <summary>Gets how many committed results this instance has read.</summary>
    public long Read => Interlocked.Read(ref _read);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var db = redis.GetDatabase();
        var streams = settings.ResultStreams;
        var from = (RedisValue)$"{(time.GetUtcNow() - History).ToUnixTimeMilliseconds()}-0";
        var positions = Enumerable.Repeat(from, streams.Count).ToArray();
        var idle = TimeSpan.FromMilliseconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // One XREAD per partition, all sent at once: the partitions' keys are in different cluster slots.
                var pages = await Task.WhenAll(streams.Select((key, p) => db.StreamReadAsync(key, positions[p], 500))).ConfigureAwait(false);
                var read = 0;
                for (var p = 0; p < pages.Length; p++)
                {
                    foreach (var entry in pages[p])
                    {
                        positions[p] = entry.Id;
                        Apply(entry["result"]);
                        read++;
                    }
                }

                if (read > 0)
                {
                    Interlocked.Add(ref _read, read);
                    idle = TimeSpan.FromMilliseconds(1);
                    continue;
                }

                await Task.Delay(idle, time, stoppingToken).ConfigureAwait(false);
                idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, MaxPollDelay.Ticks));
            }
            catch (RedisException ex)
            {
                LogRedisAway(logger, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private void Apply(RedisValue json)
    {
        WindowResult<FigureKey, WindowFigures>? result = null;
        try
        {
            result = json.IsNullOrEmpty ? null : JsonSerializer.Deserialize<WindowResult<FigureKey, WindowFigures>>((string)json!, ResultJson);
        }
        catch (JsonException ex)
        {
            LogUnreadable(logger, ex.Message);
        }

        if (result is not null)
        {
            live.Update(result);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the committed results: Redis is away ({Problem}); retrying")]
    private static partial void LogRedisAway(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A committed result that is not a dashboard window result was skipped: {Problem}")]
    private static partial void LogUnreadable(ILogger logger, string problem);
}
