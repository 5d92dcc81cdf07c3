using EventStream.Retry;

namespace EventStream;

/// <summary>The end of a segment: gathers its results into batches for the next segment's queue (waiting for room: backpressure).</summary>
internal sealed class ForwardOperator<T> : Operator<T>
{
    private readonly Segment _from;
    private readonly Segment<T> _to;
    private readonly int _batchSize;
    private Batch<T>? _buffer;

    public ForwardOperator(Segment from, Segment<T> to, int batchSize)
    {
        _from = from;
        _to = to;
        _batchSize = batchSize;
    }

    public override ValueTask ProcessAsync(T item, RetryState? state)
    {
        var buffer = _buffer ??= Batch<T>.Rent(_batchSize, _from.CurrentAdmittedAt, _from.CurrentTrace);
        buffer.Add(item);
        return buffer.Count >= _batchSize ? FlushAsync() : default;
    }

    public override ValueTask FlushAsync()
    {
        if (_buffer is not { Count: > 0 } buffer)
        {
            return default;
        }

        _buffer = null;
        ValueTask write;
        try
        {
            write = _to.Queue.WriteBatchAsync(buffer, _from.Pipeline.Token);
        }
        catch (OperationCanceledException)
        {
            // Refused at once by a cancelled pipeline: the batch never entered the queue; hand it over for dead-lettering.
            _buffer = buffer;
            throw;
        }

        return write.IsCompletedSuccessfully ? default : AwaitWriteAsync(write, buffer);
    }

    public override void CollectLeftovers(List<Leftover> leftovers)
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            for (var i = 0; i < buffer.Count; i++)
            {
                leftovers.Add(new Leftover(_to.HeadStage, buffer.Items[i], 0, buffer.Trace));
            }
        }
    }

    private async ValueTask AwaitWriteAsync(ValueTask write, Batch<T> buffer)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The pipeline is being cancelled: the batch never entered the queue; hand it over for dead-lettering.
            _buffer = buffer;
            throw;
        }
    }
}
