using EventStream.Retry;

namespace EventStream;

/// <summary>An event that goes through one stage's operator again: a retry after its back-off, or a replayed dead letter.</summary>
internal sealed class StageWorkItem<T> : WorkItem
{
    private readonly Operator<T> _op;
    private readonly T _item;
    private readonly RetryState _state;

    public StageWorkItem(StageRuntime stage, Operator<T> op, T item, RetryState state, long admittedAt)
        : base(stage.Name, admittedAt)
    {
        _op = op;
        _item = item;
        _state = state;
    }

    public override object? Item => _item;

    public override int AttemptsSoFar => _state.Attempt - 1;

    public override ValueTask RunAsync() => _op.ProcessAsync(_item, _state);
}
