namespace EventStream;

/// <summary>
/// The token handed to async handlers: the pipeline's token, replaced by a fresh linked one after a timeout
/// cancelled the previous one (so one hung call does not cancel the next).
/// </summary>
internal sealed class HandlerToken
{
    private readonly CancellationToken _pipeline;
    private CancellationTokenSource _source;

    public HandlerToken(CancellationToken pipeline)
    {
        _pipeline = pipeline;
        _source = CancellationTokenSource.CreateLinkedTokenSource(pipeline);
    }

    public CancellationToken Token => _source.Token;

    public void Abandon()
    {
        var old = _source;
        _source = CancellationTokenSource.CreateLinkedTokenSource(_pipeline);
        old.Cancel();
        old.Dispose();
    }
}
