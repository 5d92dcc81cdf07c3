using System.Threading.Channels;

namespace EventStream.AspNetCore;

/// <summary>
/// Live window results for browsers: a window stage's sink publishes into it (<c>.Sink("live", feed.Publish)</c>),
/// and <see cref="Microsoft.AspNetCore.Builder.WindowResultsEndpointRouteBuilderExtensions.MapWindowResults{TKey, TValue}"/>
/// serves it as server-sent events — the results of each <see cref="WindowResultFeedOptions.Interval"/> in one message.
/// </summary>
/// <remarks>
/// The feed keeps its last <see cref="WindowResultFeedOptions.Retained"/> messages, so a client that reconnects with
/// <c>Last-Event-ID</c> gets what it missed without a gap while those messages are held. A client that reads too slowly
/// loses its oldest unread messages (it is told, with a <c>gap</c> event) instead of holding up the pipeline.
/// </remarks>
/// <typeparam name="TKey">The window key.</typeparam>
/// <typeparam name="TValue">The aggregate's result.</typeparam>
public sealed class WindowResultFeed<TKey, TValue> : IDisposable
{
    private readonly object _gate = new();
    private readonly List<WindowResult<TKey, TValue>> _pending = [];
    private readonly LinkedList<WindowFeedMessage<TKey, TValue>> _retained = new();
    private readonly List<Channel<WindowFeedMessage<TKey, TValue>>> _subscribers = [];
    private readonly ITimer _timer;
    private long _sequence;
    private bool _disposed;

    /// <summary>Initializes a new instance of the <see cref="WindowResultFeed{TKey, TValue}"/> class.</summary>
    /// <param name="options">The feed's options; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public WindowResultFeed(WindowResultFeedOptions? options = null)
    {
        Options = options ?? new WindowResultFeedOptions();
        var problems = Options.Problems().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException($"WindowResultFeed: {string.Join("; ", problems)}.", nameof(options));
        }

        _timer = Options.TimeProvider.CreateTimer(static state => ((WindowResultFeed<TKey, TValue>)state!).Flush(), this, Options.Interval, Options.Interval);
    }

    /// <summary>Gets the feed's options.</summary>
    public WindowResultFeedOptions Options { get; }

    /// <summary>Adds a result to the next message; a window stage's sink.</summary>
    /// <param name="result">The result.</param>
    public void Publish(WindowResult<TKey, TValue> result)
    {
        ArgumentNullException.ThrowIfNull(result);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _pending.Add(result);
        }
    }

    /// <summary>Ends every subscription and stops the timer.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryComplete();
            }

            _subscribers.Clear();
        }

        _timer.Dispose();
    }

    /// <summary>A subscription: the retained messages after <paramref name="lastId"/> first, then each new one (ids tell the endpoint of any gap).</summary>
    internal ChannelReader<WindowFeedMessage<TKey, TValue>> Subscribe(long? lastId, out Action unsubscribe)
    {
        var channel = Channel.CreateBounded<WindowFeedMessage<TKey, TValue>>(new BoundedChannelOptions(Options.ClientBuffer)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_gate)
        {
            if (lastId is { } last)
            {
                foreach (var message in _retained.Where(m => m.Id > last))
                {
                    channel.Writer.TryWrite(message);
                }
            }

            if (_disposed)
            {
                channel.Writer.TryComplete();
            }
            else
            {
                _subscribers.Add(channel);
            }
        }

        unsubscribe = () =>
        {
            lock (_gate)
            {
                _subscribers.Remove(channel);
            }
        };
        return channel.Reader;
    }

    private void Flush()
    {
        lock (_gate)
        {
            if (_pending.Count == 0 || _disposed)
            {
                return;
            }

            var message = new WindowFeedMessage<TKey, TValue>(++_sequence, [.. _pending]);
            _pending.Clear();
            _retained.AddLast(message);
            while (_retained.Count > Options.Retained)
            {
                _retained.RemoveFirst();
            }

            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryWrite(message);
            }
        }
    }
}

/// <summary>One server-sent message of a feed: its id (counting from 1, one per interval with results) and the results it carries.</summary>
/// <typeparam name="TKey">The window key.</typeparam>
/// <typeparam name="TValue">The aggregate's result.</typeparam>
/// <param name="Id">The message's id (its <c>id:</c> field).</param>
/// <param name="Results">The results of one interval.</param>
internal sealed record WindowFeedMessage<TKey, TValue>(long Id, IReadOnlyList<WindowResult<TKey, TValue>> Results);
