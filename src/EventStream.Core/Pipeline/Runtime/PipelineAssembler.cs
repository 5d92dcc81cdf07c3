namespace EventStream;

/// <summary>
/// Turns a validated <see cref="PipelineDefinition"/> into a running pipeline, the one place the parts are wired. Every
/// part gets what it needs through its constructor, in an order that needs no back-references: first the shared
/// <see cref="PipelineContext"/>, then one segment per queue front to back, then each stage's runtime, then the
/// operators back to front (each knows the next one), each segment's worker as soon as its first operator exists,
/// and last the pipeline, which starts the workers.
/// </summary>
internal static class PipelineAssembler
{
    public static IEventPipeline<TIn> Assemble<TIn>(PipelineDefinition definition, Windowing.State.IWindowPartitionHost? partitioning = null) =>
        Assemble<TIn>(definition.Name!, definition.Options, definition.Stages, partitioning);

    /// <summary>Assembles <paramref name="stages"/> (all of a definition's, or a run of them, as partitioned execution splits a pipeline at its window).</summary>
    public static IEventPipeline<TIn> Assemble<TIn>(string name, PipelineOptions options, IReadOnlyList<StageDefinition> stages, Windowing.State.IWindowPartitionHost? partitioning = null)
    {
        var count = stages.Count;
        var pipeline = new PipelineContext(name, options, partitioning);

        // A segment starts at the first stage and at every stage with a queue of its own; the sink (the last stage)
        // is in the last segment, whose worker records end-to-end latency.
        var lastStart = 0;
        for (var i = 1; i < count; i++)
        {
            if (stages[i].HasQueue)
            {
                lastStart = i;
            }
        }

        var segments = new List<Segment>();
        var segmentOf = new Segment[count];
        for (var i = 0; i < count; i++)
        {
            var stage = stages[i];
            if (i == 0 || stage.HasQueue)
            {
                segments.Add(stage.CreateSegment(pipeline, stage.Options.Capacity ?? options.Capacity, i == 0 ? pipeline.Counters : null, recordsLatency: i == lastStart));
            }

            segmentOf[i] = segments[^1];
        }

        var runtimes = new StageRuntime[count];
        for (var i = 0; i < count; i++)
        {
            var stage = stages[i];
            runtimes[i] = new StageRuntime(
                pipeline,
                segmentOf[i],
                stage.Name,
                stage.Kind,
                (stage.Options.Retry ?? options.Retry).Clone(),
                stage.Options.Timeout ?? options.Timeout,
                stage.Options.AllowNullResult,
                headsSegment: i == 0 || stage.HasQueue);
        }

        var stageOperators = new IStageOperator[count];
        var operators = new List<OperatorBase>();
        var workers = new SegmentWorker[segments.Count];
        var segmentIndex = segments.Count - 1;
        OperatorBase? next = null;
        for (var i = count - 1; i >= 0; i--)
        {
            var stage = stages[i];
            var op = stage.CreateOperator(runtimes[i], next);
            stageOperators[i] = (IStageOperator)op;
            operators.Add(op);
            next = op;
            if (runtimes[i].HeadsSegment)
            {
                var segment = segments[segmentIndex];
                workers[segmentIndex] = stage.CreateWorker(segment, op, segmentIndex + 1 < segments.Count ? segments[segmentIndex + 1] : null);
                if (segmentIndex > 0)
                {
                    // The previous segment ends by forwarding batches into this stage's queue.
                    next = stage.CreateForwarder(segments[segmentIndex - 1], segment);
                    operators.Add(next);
                }

                segmentIndex--;
            }
        }

        var running = new EventPipeline<TIn>(pipeline, (Segment<TIn>)segments[0], stageOperators, segments, workers, operators);
        running.Start();
        return running;
    }
}
