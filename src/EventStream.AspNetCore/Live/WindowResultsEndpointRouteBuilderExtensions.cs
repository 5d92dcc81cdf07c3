using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using EventStream;
using EventStream.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps a live feed of window results as server-sent events.</summary>
public static class WindowResultsEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>GET pattern</c> to a <see cref="WindowResultFeed{TKey, TValue}"/> as server-sent events
    /// (<c>text/event-stream</c>): one <c>results</c> event per interval with results (its data a JSON array of
    /// <see cref="WindowResult{TKey, TValue}"/>, its <c>id</c> the message's), a <c>: heartbeat</c> comment while idle,
    /// and a <c>gap</c> event (<c>{"missingFrom":…,"missingTo":…}</c>) when messages this client should have had are
    /// gone. A client that reconnects with <c>Last-Event-ID</c> gets the retained messages after it. The stream ends when
    /// the client goes away or the application stops.
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
        return endpoints.MapGet(pattern, context => ServeAsync(context, feed, jsonTypeInfo));
    }

    private static async Task ServeAsync<TKey, TValue>(HttpContext context, WindowResultFeed<TKey, TValue> feed, JsonTypeInfo<IReadOnlyList<WindowResult<TKey, TValue>>>? jsonTypeInfo)
    {
        var typeInfo = jsonTypeInfo ?? AppJson.TypeInfo<IReadOnlyList<WindowResult<TKey, TValue>>>(context.RequestServices, "the jsonTypeInfo of MapWindowResults");
        long? last = long.TryParse(context.Request.Headers["Last-Event-ID"], NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
        var stopping = context.RequestServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        using var both = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var ct = both.Token;

        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no"; // nginx: do not buffer the stream
        var reader = feed.Subscribe(last, out var unsubscribe);
        var body = context.Response.Body;
        try
        {
            await body.WriteAsync(": connected\n\n"u8.ToArray(), ct).ConfigureAwait(false);
            await body.FlushAsync(ct).ConfigureAwait(false);
            while (!ct.IsCancellationRequested)
            {
                using var idle = new CancellationTokenSource(feed.Options.HeartbeatInterval, feed.Options.TimeProvider);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct, idle.Token);
                WindowFeedMessage<TKey, TValue> message;
                try
                {
                    if (!await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false))
                    {
                        return; // the feed was disposed
                    }

                    if (!reader.TryRead(out message!))
                    {
                        continue;
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    await body.WriteAsync(": heartbeat\n\n"u8.ToArray(), ct).ConfigureAwait(false);
                    await body.FlushAsync(ct).ConfigureAwait(false);
                    continue;
                }

                var text = new StringBuilder();
                if (last is { } seen && message.Id > seen + 1)
                {
                    text.Append(CultureInfo.InvariantCulture, $"event: gap\ndata: {{\"missingFrom\":{seen + 1},\"missingTo\":{message.Id - 1}}}\n\n");
                }

                text.Append(CultureInfo.InvariantCulture, $"event: results\nid: {message.Id}\ndata: ")
                    .Append(JsonSerializer.Serialize(message.Results, typeInfo))
                    .Append("\n\n");
                await body.WriteAsync(Encoding.UTF8.GetBytes(text.ToString()), ct).ConfigureAwait(false);
                await body.FlushAsync(ct).ConfigureAwait(false);
                last = message.Id;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // the client went away or the application stops: the stream simply ends
        }
        finally
        {
            unsubscribe();
        }
    }
}
