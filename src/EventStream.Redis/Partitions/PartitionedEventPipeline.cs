using EventStream.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventStream.Redis.Partitions;

/// <summary>
/// The pipeline a registration with <see cref="RedisPipelineOptions.Partitioned"/> builds: one
/// worker of the partitioned computation, running from its creation. Its input is the Redis stream (write to it with
/// <see cref="RedisStreamProducer{T}"/> or any client), so the producer doors refuse; completing or stopping it
/// commits, hands its partitions over and fires nothing. Its metrics are this worker's view; the computation's are read
/// with <see cref="RedisPartitionedPipeline.ReadMetricsAsync"/>.
/// </summary>
/// <typeparam name="T">The input type.</typeparam>
#pragma warning disable CA1001 // The stop source is never disposed: the worker's run observes it until its very end.
internal sealed class PartitionedEventPipeline<T> : IEventPipeline<T>, IStoppablePipeline
#pragma warning restore CA1001
{
    private readonly PartitionedWorker<T> _worker;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<PartitionedRunSummary> _run;
    private readonly string _stream;
    private int _disposed;

    private readonly Func<int, CancellationToken, Task<ReplayResult>> _replay;
    private readonly Task _watch;

    public PartitionedEventPipeline(PartitionedWorker<T> worker, string name, string stream, Func<int, CancellationToken, Task<ReplayResult>> replay, ILogger? logger = null, IHostApplicationLifetime? lifetime = null)
    {
        _worker = worker;
        _replay = replay;
        Name = name;
        _stream = stream;
        _run = Task.Run(() => worker.RunAsync(_stop.Token));
        _watch = WatchAsync(logger ?? NullLogger.Instance, lifetime);
    }

    public string Name { get; }

    public IDeadLetterStore DeadLetters => _worker.DeadLetters;

    /// <summary>Gets the worker's run: it ends when the worker stops (its summary), or faults with what stopped it.</summary>
    public Task Completion => _run;

    public bool TryWrite(T item) => throw Refused();

    public ValueTask WriteAsync(T item, CancellationToken cancellationToken = default) => throw Refused();

    public ValueTask WriteBatchAsync(ReadOnlyMemory<T> items, CancellationToken cancellationToken = default) => throw Refused();

    public void Ingest(ReadOnlySpan<T> items) => throw Refused();

    public void Complete() => _stop.Cancel();

    /// <summary>Stops the worker and waits for it; a worker that failed was logged (see <see cref="Completion"/> for the failure).</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _watch.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => CompleteAsync(cancellationToken);

    public PipelineMetrics GetMetrics() => _worker.Head?.GetMetrics() ?? new PipelineMetrics { Pipeline = Name, Timestamp = DateTimeOffset.UtcNow, Stages = [] };

    /// <summary>Replays the computation's dead letters through its input stream (see <see cref="RedisPartitionedPipeline.ReplayDeadLettersAsync"/>).</summary>
    public Task<ReplayResult> ReplayDeadLettersAsync(int maxCount = int.MaxValue, CancellationToken cancellationToken = default) => _replay(maxCount, cancellationToken);

    /// <summary>
    /// Not supported: a partitioned computation's dead letters are committed with each partition's state (its dead-letter
    /// stream, see <see cref="RedisPartitionedPipeline.ReplayDeadLettersAsync"/>), not kept in an <see cref="IDeadLetterStore"/>
    /// this worker could discard from.
    /// </summary>
    public Task<long> DiscardDeadLettersAsync(DeadLetterDiscard filter, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException(
            $"Pipeline '{Name}' is partitioned over Redis: its dead letters are committed with its partitions' state, not kept in a dead-letter store, so they cannot be discarded through the pipeline. Replay them with RedisPartitionedPipeline.ReplayDeadLettersAsync.");

    /// <summary>Stops the worker (a final commit, the hand-over) and waits for it; safe to call more than once (a host disposes its pipelines under two registrations).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        await _watch.ConfigureAwait(false);
    }

    /// <summary>
    /// A worker that fails (a stored definition that differs, a key of the wrong type, …) is logged and stops the host,
    /// as a failing <c>BackgroundService</c> does: the computation must not stop unnoticed, and a stop must not throw.
    /// </summary>
    private async Task WatchAsync(ILogger logger, IHostApplicationLifetime? lifetime)
    {
        try
        {
            await _run.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Logged; Completion keeps the failure for whoever awaits it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Failed(logger, Name, _stream, ex.Message, ex);
            lifetime?.StopApplication();
        }
    }

    private static readonly Action<ILogger, string, string, string, Exception?> Failed = LoggerMessage.Define<string, string, string>(
        LogLevel.Critical, new EventId(1, "PartitionedWorkerFailed"), "Event pipeline '{Pipeline}': the partitioned worker of stream '{Stream}' failed and stopped: {Problem}; stopping the host.");

    private NotSupportedException Refused() =>
        new($"Pipeline '{Name}' runs partitioned over Redis and reads its input from the stream '{_stream}': add events there (RedisStreamProducer<T>, or any Redis client: XADD {_stream} * event <json>), not to the pipeline.");
}
