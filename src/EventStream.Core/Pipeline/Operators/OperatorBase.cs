namespace EventStream;

/// <summary>
/// One stage's logic inside a segment's loop, or the forwarder that ends a segment. Operators push each result straight
/// into the next operator, so consecutive synchronous stages run as one loop; every method returns a
/// <see cref="ValueTask"/> that is already completed on the synchronous path, so the loop allocates nothing per event.
/// Operators never throw for a failing handler: failures go to <see cref="StageRuntime.FailAsync{T}"/>.
/// </summary>
internal abstract class OperatorBase
{
    /// <summary>Called after each batch: pass on anything held back (pending parallel calls, a part-filled output batch).</summary>
    public abstract ValueTask FlushAsync();

    /// <summary>After a cancellation: hand over the events this operator still holds.</summary>
    public virtual void CollectLeftovers(List<Leftover> leftovers)
    {
    }

    /// <summary>The segment's input is complete and drained: emit what is held back (windows fire) and pass it on.</summary>
    public virtual ValueTask CompleteAsync() => default;

    /// <summary>The pipeline has finished or was cancelled: stop timers.</summary>
    public virtual void Stop()
    {
    }
}
