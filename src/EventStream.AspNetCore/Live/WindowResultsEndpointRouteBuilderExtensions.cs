using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using EventStream;
using EventStream.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps a live feed of window results as server-sent events.</summary>
public static class WindowResultsEndpointRouteBuilderExtensions
{
    /// <summary>The heartbeat interval of a feed mapped without one: 15 seconds (proxies close connections idle for longer).</summary>
    private static readonly TimeSpan DefaultHeartbeat = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Maps <c>GET pattern</c> to a <see cref="WindowResultFeed{TKey, TValue}"/> as server-sent events
    /// (<c>text/event-stream</c>): one <c>results</c> event per interval with results (its data a JSON array of
    /// <see cref="WindowResult{TKey, TValue}"/>, its <c>id</c> the message's), a <c>: heartbeat</c> comment while idle,
    /// and a <c>gap</c> event (<c>{"missingFrom":…,"missingTo":…}</c>) when messages this client should have had are
    /// gone. A client that reconnects with <c>Last-Event-ID</c> gets the retained messages after it; a <c>Last-Event-ID</c>
    /// that is not a whole number is answered 400 with problem details. The stream ends when the client goes away or the
    /// application stops.
    /// </summary>
    /// <typeparam name="TKey">The window key.</typeparam>
    /// <typeparam name="TValue">The aggregate's result.</typeparam>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route pattern.</param>
    /// <param name="feed">The feed the window stage publishes into.</param>
    /// <param name="jsonTypeInfo">How results are written; <see langword="null"/> for the application's minimal-API JSON options (set it in trimmed or AOT applications).</param>
    /// <returns>The endpoint's convention builder, for authorization and other conventions.</returns>
    public static IEndpointConventionBuilder MapWindowResults<TKey, TValue>(
        this IEndpointRouteBuilder endpoints,
        string pattern,
        WindowResultFeed<TKey, TValue> feed,
        JsonTypeInfo<IReadOnlyList<WindowResult<TKey, TValue>>>? jsonTypeInfo = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(feed);
        return endpoints.MapGet(pattern, context =>
        {
            var typeInfo = jsonTypeInfo ?? AppJson.TypeInfo<IReadOnlyList<WindowResult<TKey, TValue>>>(context.RequestServices, "the jsonTypeInfo of MapWindowResults");
            return ServeAsync(context, (lastEventId, ct) => FeedMessages(feed, lastEventId, typeInfo, ct), feed.Options.HeartbeatInterval, feed.Options.TimeProvider);
        }).WithMetadata([EndpointMetadata.Handler, EndpointMetadata.EventStream(StatusCodes.Status200OK), .. EndpointMetadata.Problems(400)]);
    }

    /// <summary>
    /// Maps <c>GET pattern</c> to a resumable source of window results as server-sent events (<c>text/event-stream</c>):
    /// each item <paramref name="subscribe"/> yields is sent as one event (its <see cref="SseItem{T}.EventType"/>,
    /// <see cref="SseItem{T}.EventId"/> and data), with a <c>: heartbeat</c> comment whenever
    /// <paramref name="heartbeatInterval"/> passes without one. This is the door for results kept outside the process —
    /// EventStream.Redis's <c>RedisResultsReader.SubscribeAsync</c> (<c>app.MapWindowResults("/live", reader.SubscribeAsync)</c>)
    /// yields each interval's committed results with a cursor as the id, so a browser that reconnects with
    /// <c>Last-Event-ID</c>, to this server or another, even after a restart, resumes without a gap or a duplicate.
    /// The stream ends when the client goes away, the application stops, or the source ends.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route pattern.</param>
    /// <param name="subscribe">
    /// Opens the source for one client: after the id of the last message it got (its <c>Last-Event-ID</c>), or from now
    /// when it sent none (<see langword="null"/>); the token ends the sequence. It throws <see cref="FormatException"/>
    /// (at once, not while enumerating) for an id that is not one of its own: the client is answered 400 with problem
    /// details saying why, since resuming from a position the server cannot read would silently skip or repeat results.
    /// </param>
    /// <param name="heartbeatInterval">How long the connection may go without a message before a heartbeat comment; <see langword="null"/> for 15 seconds.</param>
    /// <param name="timeProvider">The clock of the heartbeat; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <returns>The endpoint's convention builder, for authorization and other conventions.</returns>
    public static IEndpointConventionBuilder MapWindowResults(
        this IEndpointRouteBuilder endpoints,
        string pattern,
        Func<string?, CancellationToken, IAsyncEnumerable<SseItem<string>>> subscribe,
        TimeSpan? heartbeatInterval = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(subscribe);
        if (heartbeatInterval is { } beat)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(beat, TimeSpan.Zero, nameof(heartbeatInterval));
        }

        return endpoints.MapGet(pattern, context => ServeAsync(context, subscribe, heartbeatInterval ?? DefaultHeartbeat, timeProvider ?? TimeProvider.System))
            .WithMetadata([EndpointMetadata.Handler, EndpointMetadata.EventStream(StatusCodes.Status200OK), .. EndpointMetadata.Problems(400)]);
    }

    /// <summary>The one server-sent-events writer: validates the client's id through the source, then sends its items, heartbeats while idle, until the client, the application or the source ends.</summary>
    private static async Task ServeAsync(HttpContext context, Func<string?, CancellationToken, IAsyncEnumerable<SseItem<string>>> subscribe, TimeSpan heartbeat, TimeProvider time)
    {
        var header = context.Request.Headers["Last-Event-ID"];
        var lastEventId = header.Count == 0 ? null : header.ToString();
        var stopping = context.RequestServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        using var both = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var ct = both.Token;

        IAsyncEnumerator<SseItem<string>> items;
        try
        {
            items = subscribe(lastEventId, ct).GetAsyncEnumerator(ct);
        }
        catch (FormatException ex)
        {
            await PackageProblem.Of(
                StatusCodes.Status400BadRequest,
                "The Last-Event-ID cannot be resumed from",
                $"Last-Event-ID: {ex.Message} Reconnect without it to start from now.").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        // Started before anything is written: a source subscribes on its first step, so nothing published from here on is missed.
        var next = items.MoveNextAsync().AsTask();
        try
        {
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers["X-Accel-Buffering"] = "no"; // nginx: do not buffer the stream
            var body = context.Response.Body;
            await body.WriteAsync(": connected\n\n"u8.ToArray(), ct).ConfigureAwait(false);
            await body.FlushAsync(ct).ConfigureAwait(false);
            while (true)
            {
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    var beat = Task.Delay(heartbeat, time, idle.Token);
                    var first = await Task.WhenAny(next, beat).ConfigureAwait(false);
                    await idle.CancelAsync().ConfigureAwait(false);
                    if (first != next)
                    {
                        ct.ThrowIfCancellationRequested();
                        await body.WriteAsync(": heartbeat\n\n"u8.ToArray(), ct).ConfigureAwait(false);
                        await body.FlushAsync(ct).ConfigureAwait(false);
                        continue;
                    }
                }

                if (!await next.ConfigureAwait(false))
                {
                    return; // the source ended
                }

                await body.WriteAsync(Format(items.Current), ct).ConfigureAwait(false);
                await body.FlushAsync(ct).ConfigureAwait(false);
                next = items.MoveNextAsync().AsTask();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // the client went away or the application stops: the stream simply ends
        }
        finally
        {
            await both.CancelAsync().ConfigureAwait(false);
            try
            {
                await next.ConfigureAwait(false); // a source is disposed only between steps
            }
            catch (OperationCanceledException)
            {
            }

            await items.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>One event: its type, its id when it has one, and its data (one <c>data:</c> line per line).</summary>
    private static byte[] Format(SseItem<string> item)
    {
        var text = new StringBuilder();
        text.Append("event: ").Append(item.EventType).Append('\n');
        if (item.EventId is { } id)
        {
            text.Append("id: ").Append(id).Append('\n');
        }

        foreach (var line in (item.Data ?? string.Empty).Split('\n'))
        {
            text.Append("data: ").Append(line.TrimEnd('\r')).Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.Append('\n').ToString());
    }

    /// <summary>The in-memory feed as a source: subscribed at once; the retained messages after the client's id, then each new one, with a <c>gap</c> event where messages are gone.</summary>
    private static IAsyncEnumerable<SseItem<string>> FeedMessages<TKey, TValue>(WindowResultFeed<TKey, TValue> feed, string? lastEventId, JsonTypeInfo<IReadOnlyList<WindowResult<TKey, TValue>>> typeInfo, CancellationToken ct)
    {
        long? last = null;
        if (lastEventId is not null)
        {
            last = long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                ? id
                : throw new FormatException($"'{(lastEventId.Length > 64 ? lastEventId[..64] + "…" : lastEventId)}' is not an id of this feed (its ids are whole numbers).");
        }

        return Read(feed, last, typeInfo, ct);

        static async IAsyncEnumerable<SseItem<string>> Read(WindowResultFeed<TKey, TValue> feed, long? last, JsonTypeInfo<IReadOnlyList<WindowResult<TKey, TValue>>> typeInfo, [EnumeratorCancellation] CancellationToken ct)
        {
            ChannelReader<WindowFeedMessage<TKey, TValue>> reader = feed.Subscribe(last, out var unsubscribe);
            try
            {
                await foreach (var message in reader.ReadAllAsync(ct).ConfigureAwait(false))
                {
                    if (last is { } seen && message.Id > seen + 1)
                    {
                        yield return new SseItem<string>(string.Create(CultureInfo.InvariantCulture, $"{{\"missingFrom\":{seen + 1},\"missingTo\":{message.Id - 1}}}"), "gap");
                    }

                    yield return new SseItem<string>(JsonSerializer.Serialize(message.Results, typeInfo), "results") { EventId = message.Id.ToString(CultureInfo.InvariantCulture) };
                    last = message.Id;
                }
            }
            finally
            {
                unsubscribe();
            }
        }
    }
}
