using EventStream.Internal;

namespace EventStream;

/// <summary>A stage as declared on the builder, before it runs.</summary>
internal abstract class StageDefinition
{
    protected StageDefinition(string name, StageKind kind, StageOptions options, int position)
    {
        Name = name;
        Kind = kind;
        Options = options;
        Position = position;
    }

    public string Name { get; }

    public StageKind Kind { get; }

    public StageOptions Options { get; }

    /// <summary>How many stages the builder had when this one was added (to detect branching).</summary>
    public int Position { get; }

    /// <summary>Checks stage-specific settings (a window stage's options); given the stage's label.</summary>
    public Func<string, IEnumerable<string>>? Validation { get; set; }

    /// <summary>
    /// Stages chain into the loop before them (as Flink chains operators) unless they ask for a queue of their own:
    /// an explicit capacity, or an enrich stage with parallelism.
    /// </summary>
    public bool HasQueue => Options.Capacity.HasValue || Options.Parallelism > 1;

    public abstract Segment CreateSegment(PipelineCore pipeline, StageRuntime runtime, int capacity, PipelineCounters? admissions);

    public abstract OperatorBase CreateOperator(StageRuntime runtime, OperatorBase? next);

    /// <summary>The operator that ends the previous segment and feeds this stage's queue.</summary>
    public abstract OperatorBase CreateForwarder(Segment from, Segment to, int batchSize);

    public abstract void SetHead(Segment segment, OperatorBase head);
}

internal sealed class StageDefinition<TIn, TOut> : StageDefinition
{
    private readonly Func<StageRuntime, Operator<TOut>?, Operator<TIn>> _factory;

    public StageDefinition(string name, StageKind kind, StageOptions options, int position, Func<StageRuntime, Operator<TOut>?, Operator<TIn>> factory)
        : base(name, kind, options, position)
    {
        _factory = factory;
    }

    public override Segment CreateSegment(PipelineCore pipeline, StageRuntime runtime, int capacity, PipelineCounters? admissions) =>
        new Segment<TIn>(pipeline, runtime, new StageQueue<TIn>(capacity, pipeline.Options.BatchSize, pipeline.Time, admissions));

    public override OperatorBase CreateOperator(StageRuntime runtime, OperatorBase? next) => _factory(runtime, (Operator<TOut>?)next);

    public override OperatorBase CreateForwarder(Segment from, Segment to, int batchSize) => new ForwardOperator<TIn>(from, (Segment<TIn>)to, batchSize);

    public override void SetHead(Segment segment, OperatorBase head) => ((Segment<TIn>)segment).Operator = (Operator<TIn>)head;
}
