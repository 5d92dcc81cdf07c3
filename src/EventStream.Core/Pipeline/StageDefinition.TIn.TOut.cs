using EventStream.Metrics;

namespace EventStream;

/// <summary>A stage that takes <typeparamref name="TIn"/> and passes <typeparamref name="TOut"/> on.</summary>
/// <typeparam name="TIn">The stage's input type.</typeparam>
/// <typeparam name="TOut">The stage's output type.</typeparam>
internal sealed class StageDefinition<TIn, TOut> : StageDefinition
{
    private readonly Func<StageRuntime, Operator<TOut>?, Operator<TIn>> _factory;

    public StageDefinition(string name, StageKind kind, StageOptions options, int position, Func<StageRuntime, Operator<TOut>?, Operator<TIn>> factory, Func<string, IEnumerable<string>>? validate = null)
        : base(name, kind, options, position, validate)
    {
        _factory = factory;
    }

    // The casts below hold by construction: the builder chains a stage taking TIn only after one that passes TIn on,
    // and the assembler hands each stage the segments and operators made by its neighbours.
    public override Segment CreateSegment(PipelineContext pipeline, int capacity, PipelineCounters? admissions, bool recordsLatency) =>
        new Segment<TIn>(pipeline, Name, capacity, admissions, recordsLatency);

    public override OperatorBase CreateOperator(StageRuntime runtime, OperatorBase? next) => _factory(runtime, (Operator<TOut>?)next);

    public override OperatorBase CreateForwarder(Segment from, Segment to) => new ForwardOperator<TIn>(from, (Segment<TIn>)to, from.Pipeline.Options.BatchSize);

    public override SegmentWorker CreateWorker(Segment segment, OperatorBase head, Segment? next) =>
        new SegmentWorker<TIn>((Segment<TIn>)segment, (Operator<TIn>)head, next);

    public override PartitionedPipeline.Tail AssembleTail(string name, PipelineOptions options, IReadOnlyList<StageDefinition> stages, System.Text.Json.JsonSerializerOptions json)
    {
        var pipeline = PipelineAssembler.Assemble<TIn>(name, options, stages);
        return new PartitionedPipeline.Tail(
            pipeline,
            pipeline.GetMetrics,
            pipeline.CompleteAsync,
            (text, token) => pipeline.WriteAsync(
                System.Text.Json.JsonSerializer.Deserialize<TIn>(text, json) ?? throw new System.Text.Json.JsonException($"A committed result reads as null: {text}"),
                token));
    }
}
