using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using EventStream.Redis;
using EventStream.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace EventStream.AspNetCore.Tests;

/// <summary>The AspNetCore tests' private redis-server (the shared <see cref="RedisServerFixture"/>).</summary>
[CollectionDefinition(Name)]
public sealed class RedisTests : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis";
}

/// <summary>
/// The live feed of a partitioned computation's committed results (<see cref="RedisResultsReader"/> behind
/// <c>MapWindowResults</c>), over real Kestrel servers, a real redis-server and a real partitioned worker: a client that
/// reconnects with <c>Last-Event-ID</c>, to the same server or to another one started after the first stopped, gets
/// every result committed after what it saw — across all partitions, without a gap or a duplicate.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class RedisWindowResultsTests(RedisServerFixture redis) : IAsyncLifetime
{
    private const int Partitions = 4;
    private readonly string _stream = "hits-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..6];
    private readonly List<IAsyncDisposable> _cleanup = [];
    private long _produced;

    public sealed record Hit(string Url, long Ts);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            await _cleanup[i].DisposeAsync();
        }
    }

    [Fact]
    public async Task A_client_that_reconnects_with_Last_Event_ID_gets_every_result_committed_since_across_all_partitions_once()
    {
        await StartWorkerAsync();
        var server = await StartServerAsync(redis.Connection);
        var reader = Reader(redis.Connection);

        var first = await Feed.OpenAsync(server, reader.StartCursor);
        await ProduceWindowsAsync(fromSecond: 0, toSecond: 3);
        await WaitUntilReceivedEverythingCommittedAsync(first);
        first.Dispose(); // the browser loses its connection
        var seen = first.Results.ToList();
        var lastId = first.LastId!;

        await ProduceWindowsAsync(fromSecond: 5, toSecond: 8); // committed while no one listens
        var committed = await CommittedAsync();
        committed.Count.Should().BeGreaterThan(seen.Count, "results were committed while the client was away");

        var resumed = await Feed.OpenAsync(server, lastId);
        await TestSupport.Eventually(() => seen.Count + resumed.Results.Count >= committed.Count, "the resumed stream catches up", 30_000);

        resumed.Results.Should().NotIntersectWith(seen, "nothing the client saw is sent again");
        seen.Concat(resumed.Results).Should().BeEquivalentTo(committed, "every committed result arrives exactly once: no gap, no duplicate");
        (await reader.ReadAsync(lastId)).Select(e => e.Partition).Distinct().Should().HaveCount(Partitions, "the results the client missed lie in every partition");
        resumed.Messages.Select(m => m.Event).Should().OnlyContain(e => e == "results");
    }

    [Fact]
    public async Task A_client_resumes_on_another_server_started_after_the_first_one_stopped()
    {
        await StartWorkerAsync();
        var firstServer = await StartServerAsync(redis.Connection);
        var reader = Reader(redis.Connection);
        var first = await Feed.OpenAsync(firstServer, reader.StartCursor);
        await ProduceWindowsAsync(fromSecond: 0, toSecond: 2);
        await WaitUntilReceivedEverythingCommittedAsync(first);
        var seen = first.Results.ToList();
        var lastId = first.LastId!;
        first.Dispose();
        await firstServer.App.StopAsync(); // a deploy: the first instance goes away

        await ProduceWindowsAsync(fromSecond: 4, toSecond: 7);
        var committed = await CommittedAsync();

        // Another instance: its own process's connection, its own reader; the cursor is all it needs.
        var other = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        _cleanup.Add(other);
        var secondServer = await StartServerAsync(other);
        var resumed = await Feed.OpenAsync(secondServer, lastId);
        await TestSupport.Eventually(() => seen.Count + resumed.Results.Count >= committed.Count, "the other server sends what was missed", 30_000);

        seen.Concat(resumed.Results).Should().BeEquivalentTo(committed, "no gap and no duplicate across the two servers");
        resumed.Results.Should().NotIntersectWith(seen);
    }

    [Fact]
    public async Task An_idle_feed_sends_heartbeats_and_nothing_else()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20_000));
        var server = await StartServerAsync(redis.Connection, time, heartbeat: TimeSpan.FromSeconds(5));
        var feed = await Feed.OpenAsync(server, lastEventId: null);

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!feed.Lines.Contains(": heartbeat"))
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "a heartbeat comes while idle");
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(10); // real time for the server's loop; the assertion is on what arrives, not on timing
        }

        feed.Messages.Should().BeEmpty("no results were committed");
    }

    [Theory]
    [InlineData("42", "does not start with 'r'")]
    [InlineData("r0.1.2.3.4.5", "it has 5 partitions, the computation has 4")]
    [InlineData("r0.1.2.Z.3", "is not a base-36 number")]
    public async Task A_Last_Event_ID_that_is_not_a_cursor_of_the_computation_is_answered_400_with_the_reason(string lastEventId, string reason)
    {
        var server = await StartServerAsync(redis.Connection);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/live");
        request.Headers.Add("Last-Event-ID", lastEventId);

        using var response = await server.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        problem.GetProperty("detail").GetString().Should().Contain("is not a cursor of this computation's results").And.Contain(reason).And.Contain("Reconnect without it");

        using var fine = await Feed.OpenAsync(server, Reader(redis.Connection).StartCursor);
        fine.Lines.Should().Contain(": connected", "the server still serves");
    }

    private PartitionedOptions Computation(string consumer = "reader", TimeProvider? time = null) => new()
    {
        Stream = _stream,
        Group = "live",
        Consumer = consumer,
        KeyPrefix = _prefix,
        Partitions = Partitions,
        CommitInterval = TimeSpan.FromMilliseconds(100),
        Lease = TimeSpan.FromSeconds(2),
        TimeProvider = time ?? TimeProvider.System,
    };

    private RedisResultsReader Reader(IConnectionMultiplexer connection, TimeProvider? time = null) =>
        new(connection, Computation(time: time), TimeSpan.FromMilliseconds(100));

    private async Task StartWorkerAsync()
    {
        var worker = PipelineBuilder.Create<Hit>("hits")
            .Window("per-url", new WindowOptions<Hit, string>
            {
                Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)),
                Key = h => h.Url,
                Timestamp = h => h.Ts,
                OutOfOrderness = TimeSpan.FromMilliseconds(100),
            }, Aggregates.Count<Hit>())
            .Sink("out", _ => { })
            .BuildPartitioned(redis.Connection, Computation("worker"));
        var stop = new CancellationTokenSource();
        var run = worker.RunAsync(stop.Token);
        _cleanup.Add(new Stopper(async () =>
        {
            await stop.CancelAsync();
            await run;
            stop.Dispose();
        }));
        await TestSupport.Eventually(() => worker.OwnedPartitions.Count == Partitions, "the worker owns every partition", 30_000);
    }

    /// <summary>Events of 40 URLs in each second from <paramref name="fromSecond"/> to <paramref name="toSecond"/> (exclusive), then one later event whose watermark fires those windows; waits until the worker has committed them all.</summary>
    private async Task ProduceWindowsAsync(int fromSecond, int toSecond)
    {
        var db = redis.Connection.GetDatabase();
        var hits = new List<Hit>();
        for (var s = fromSecond; s < toSecond; s++)
        {
            hits.AddRange(Enumerable.Range(0, 40).Select(u => new Hit($"/page/{u}", (s * 1000L) + (u * 7 % 900))));
        }

        hits.Add(new Hit("/clock", (toSecond + 1) * 1000L));
        await Task.WhenAll(hits.Select(h => db.StreamAddAsync(_stream, "event", JsonSerializer.Serialize(h, JsonSerializerOptions.Web))));
        _produced += hits.Count;
        await TestSupport.Eventually(
            async () => (await RedisPartitionedPipeline.ReadMetricsAsync(redis.Connection, Computation())).Read == _produced,
            $"{_produced} entries committed",
            30_000);
    }

    private async Task<List<string>> CommittedAsync()
    {
        var results = new List<string>();
        await foreach (var result in RedisPartitionedPipeline.ReadResultsAsync(redis.Connection, Computation()))
        {
            results.Add(result);
        }

        return results;
    }

    private async Task WaitUntilReceivedEverythingCommittedAsync(Feed feed)
    {
        var committed = await CommittedAsync();
        committed.Should().NotBeEmpty();
        await TestSupport.Eventually(() => feed.Results.Count >= committed.Count, "the feed sends every committed result", 30_000);
    }

    private async Task<Server> StartServerAsync(IConnectionMultiplexer connection, TimeProvider? time = null, TimeSpan? heartbeat = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddProblemDetails();
        var app = builder.Build();
        var reader = Reader(connection, time);
        app.MapWindowResults("/live", reader.SubscribeAsync, heartbeat, time);
        await app.StartAsync();
        var server = new Server(app, new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = Timeout.InfiniteTimeSpan });
        _cleanup.Add(server);
        return server;
    }

    private sealed class Stopper(Func<Task> stop) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await stop();
    }

    private sealed record Server(WebApplication App, HttpClient Client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }

    /// <summary>One client's stream: its lines, its messages (event, id, data) and the results they carried, as they come.</summary>
    private sealed class Feed : IDisposable
    {
        private readonly HttpResponseMessage _response;
        private readonly CancellationTokenSource _stop = new();

        private Feed(HttpResponseMessage response) => _response = response;

        public ConcurrentQueue<string> Lines { get; } = new();

        public ConcurrentQueue<(string Event, string? Id, string Data)> Messages { get; } = new();

        public ConcurrentQueue<string> Results { get; } = new();

        public string? LastId { get; private set; }

        public static async Task<Feed> OpenAsync(Server server, string? lastEventId)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/live");
            if (lastEventId is not null)
            {
                request.Headers.Add("Last-Event-ID", lastEventId);
            }

            var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            response.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
            var feed = new Feed(response);
            var stream = await response.Content.ReadAsStreamAsync();
            _ = Task.Run(() => feed.ReadAsync(new StreamReader(stream)));
            await TestSupport.Eventually(() => feed.Lines.Contains(": connected"), "the stream opens");
            return feed;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _response.Dispose();
        }

        private async Task ReadAsync(StreamReader reader)
        {
            string? type = null, id = null;
            var data = new List<string>();
            try
            {
                while (await reader.ReadLineAsync(_stop.Token) is { } line)
                {
                    Lines.Enqueue(line);
                    if (line.Length == 0)
                    {
                        if (type is not null)
                        {
                            var text = string.Join('\n', data);
                            var results = type == "results" ? JsonDocument.Parse(text).RootElement.EnumerateArray().Select(r => r.GetRawText()).ToList() : [];
                            LastId = id ?? LastId; // before its results count as received
                            Messages.Enqueue((type, id, text));
                            foreach (var result in results)
                            {
                                Results.Enqueue(result);
                            }
                        }

                        (type, id) = (null, null);
                        data.Clear();
                    }
                    else if (line.StartsWith("event: ", StringComparison.Ordinal))
                    {
                        type = line["event: ".Length..];
                    }
                    else if (line.StartsWith("id: ", StringComparison.Ordinal))
                    {
                        id = line["id: ".Length..];
                    }
                    else if (line.StartsWith("data: ", StringComparison.Ordinal))
                    {
                        data.Add(line["data: ".Length..]);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or HttpRequestException)
            {
                // the client closed its connection
            }
        }
    }
}
