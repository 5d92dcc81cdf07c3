using EventStream.Metrics;
using System.Diagnostics;

namespace EventStream;

/// <summary>A stage as declared on the builder, before it runs; it knows its types, so it makes its own runtime parts.</summary>
[DebuggerDisplay("{KindName,nq} {Name,nq}")]
internal abstract class StageDefinition
{
    private readonly Func<string, IEnumerable<string>>? _validate;

    /// <param name="name">The stage name.</param>
    /// <param name="kind">The stage kind.</param>
    /// <param name="options">The stage options (a copy).</param>
    /// <param name="position">How many stages the builder had when this one was added (to detect branching).</param>
    /// <param name="validate">Checks stage-specific settings (a window stage's options), given the stage's label.</param>
    protected StageDefinition(string name, StageKind kind, StageOptions options, int position, Func<string, IEnumerable<string>>? validate)
    {
        Name = name;
        Kind = kind;
        Options = options;
        Position = position;
        _validate = validate;
    }

    public string Name { get; }

    public StageKind Kind { get; }

    public string KindName => Kind.DisplayName();

    public StageOptions Options { get; }

    public int Position { get; }

    /// <summary>
    /// Stages chain into the loop before them (as Flink chains operators) unless they ask for a queue of their own:
    /// an explicit capacity, or an enrich stage with parallelism.
    /// </summary>
    public bool HasQueue => Options.Capacity.HasValue || Options.Parallelism > 1;

    /// <summary>The stage-specific problems, one sentence each.</summary>
    public IEnumerable<string> Validate(string label) => _validate?.Invoke(label) ?? [];

    /// <summary>A segment that starts at this stage, with a queue of the stage's input type.</summary>
    public abstract Segment CreateSegment(PipelineContext pipeline, int capacity, PipelineCounters? admissions, bool recordsLatency);

    public abstract OperatorBase CreateOperator(StageRuntime runtime, OperatorBase? next);

    /// <summary>The operator that ends the segment before this stage's and feeds this stage's queue.</summary>
    public abstract OperatorBase CreateForwarder(Segment from, Segment to);

    /// <summary>The worker of the segment this stage heads.</summary>
    public abstract SegmentWorker CreateWorker(Segment segment, OperatorBase head, Segment? next);

    /// <summary>
    /// Assembles a pipeline that starts at this stage (the stages after a partitioned window, fed with committed
    /// results): a door that reads each event from JSON, and the pipeline behind it.
    /// </summary>
    public abstract PartitionedPipeline.Tail AssembleTail(string name, PipelineOptions options, IReadOnlyList<StageDefinition> stages, System.Text.Json.JsonSerializerOptions json);
}
