using EventStream.Windowing.State;
using System.Text.Json;

namespace EventStream;

/// <summary>
/// Splits a pipeline definition for partitioned execution at its window stage: the head (the stages up to and with the
/// window) runs on every worker over the whole input, with the window partitioned; the tail (the stages after the
/// window) runs on the committed results only. The one wiring place is still <see cref="PipelineAssembler"/>.
/// </summary>
internal static class PartitionedPipeline
{
    /// <summary>The index of the definition's window stage; throws, naming the problem, when there is not exactly one.</summary>
    public static int WindowIndex(PipelineDefinition definition)
    {
        if (definition.Stages.FirstOrDefault(s => s.Kind == StageKind.Deduplicate) is { } dedupe)
        {
            // Its state would live in one worker's memory: a duplicate that arrives after a takeover would pass.
            throw new PipelineConfigurationException(definition.Name ?? "(unnamed)", [$"deduplicate stage '{dedupe.Name}' is not supported in partitioned execution yet (its state is not committed with the partition's); deduplicate before publishing, or run the pipeline in one process."]);
        }

        var windows = definition.Stages.Select((s, i) => (s, i)).Where(x => x.s.Kind == StageKind.Window).Select(x => x.i).ToList();
        return windows.Count switch
        {
            1 => windows[0],
            0 => throw new PipelineConfigurationException(definition.Name ?? "(unnamed)", ["it has no window stage; partitioned execution splits the input by the window's key, so the pipeline needs exactly one .Window(...) stage."]),
            _ => throw new PipelineConfigurationException(definition.Name ?? "(unnamed)", [$"it has {windows.Count} window stages ({string.Join(", ", windows.Select(i => $"'{definition.Stages[i].Name}'"))}); partitioned execution runs one."]),
        };
    }

    /// <summary>Assembles the tail: the stages after the window, fed with committed results read from JSON.</summary>
    public static Tail AssembleTail(PipelineDefinition definition, JsonSerializerOptions json)
    {
        var window = WindowIndex(definition);
        var stages = definition.Stages.Skip(window + 1).ToList();
        return stages[0].AssembleTail(definition.Name! + "/results", definition.Options, stages, json);
    }

    /// <summary>Assembles the head: the stages up to and with the window, the window run partitioned under <paramref name="host"/>.</summary>
    public static IEventPipeline<TIn> AssembleHead<TIn>(PipelineDefinition definition, IWindowPartitionHost host)
    {
        var window = WindowIndex(definition);
        return PipelineAssembler.Assemble<TIn>(definition.Name!, definition.Options, [.. definition.Stages.Take(window + 1)], host);
    }

    /// <summary>The stages after a partitioned window, running: a door for committed results as JSON, and the pipeline.</summary>
    /// <param name="Pipeline">The pipeline, to dispose.</param>
    /// <param name="GetMetrics">Reads the pipeline's metrics.</param>
    /// <param name="CompleteAsync">Completes the pipeline and waits for it to drain.</param>
    /// <param name="WriteJsonAsync">Writes one committed result, given as its JSON.</param>
    internal sealed record Tail(
        IAsyncDisposable Pipeline,
        Func<PipelineMetrics> GetMetrics,
        Func<CancellationToken, Task> CompleteAsync,
        Func<string, CancellationToken, ValueTask> WriteJsonAsync);
}
