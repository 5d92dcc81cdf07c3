using EventStream.Retry;
using EventStream.DeadLetters;
using EventStream.Metrics;
using System.Diagnostics;

namespace EventStream;

/// <summary>
/// The operator of a stage that takes <typeparamref name="TIn"/> and passes <typeparamref name="TOut"/> on: it settles a
/// replay when the handler succeeds, hands failures to <see cref="StageRuntime.FailAsync{T}"/>, and takes replayed dead
/// letters back in through its segment's inbox.
/// </summary>
/// <typeparam name="TIn">The event type the stage takes.</typeparam>
/// <typeparam name="TOut">The event type it passes on.</typeparam>
[DebuggerDisplay("{GetType().Name,nq} {Stage.Name,nq}")]
internal abstract class StageOperator<TIn, TOut> : Operator<TIn>, IStageOperator
{
    /// <param name="stage">The stage it runs.</param>
    /// <param name="next">The operator after it in the segment's loop; <see langword="null"/> for a sink.</param>
    protected StageOperator(StageRuntime stage, Operator<TOut>? next)
    {
        Stage = stage;
        Next = next!;
        Counts = stage.Segment.Counts;
    }

    public StageRuntime Stage { get; }

    public virtual long? Watermark => null;

    protected Operator<TOut> Next { get; }

    /// <summary>The counts of the segment's worker, which runs this operator.</summary>
    protected WorkerCounts Counts { get; }

    public override ValueTask FlushAsync() => Next.FlushAsync();

    public override ValueTask CompleteAsync() => Next is null ? default : Next.CompleteAsync();

    public bool TryReplay(object? item, ReplayTicket ticket)
    {
        if (item is not TIn typed)
        {
            if (item is not null || default(TIn) is not null)
            {
                return false;
            }

            typed = default!;
        }

        var state = new RetryState(1, ticket.Entry.FirstFailure, ticket);
        return Stage.Segment.Inbox.TryInject(new StageWorkItem<TIn>(Stage, this, typed, state, Stage.Pipeline.Time.GetTimestamp())
        {
            Trace = PipelineTracing.Parse(ticket.Entry.TraceParent) ?? default,
        });
    }

    /// <summary>The handler succeeded: settle a replay and pass the result on.</summary>
    protected ValueTask Continue(TIn item, TOut result, RetryState? state)
    {
        if (result is null && !Stage.AllowNull)
        {
            return Stage.FailAsync(this, item, Stage.NullResult(), state);
        }

        state?.Ticket?.Succeeded();
        return Next.ProcessAsync(result, null);
    }
}
