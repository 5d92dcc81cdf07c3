namespace EventStream;

/// <summary>What a builder chain has collected: the name, the options and the stages, in order.</summary>
internal sealed class PipelineDefinition
{
    public PipelineDefinition(string name, PipelineOptions options)
    {
        Name = name;
        Options = options;
    }

    public string? Name { get; }

    public PipelineOptions Options { get; }

    public List<StageDefinition> Stages { get; } = [];

    public bool Built { get; set; }

    /// <summary>
    /// Gets or sets what <c>Build()</c> makes instead of an in-process pipeline (a registration that runs the pipeline
    /// partitioned over Redis sets it): given the validated definition, the running pipeline.
    /// </summary>
    public Func<PipelineDefinition, object>? BuildHook { get; set; }

    /// <summary>Gets or sets what sees the events that leave the pipeline (the test driver), or <see langword="null"/>.</summary>
    public IPipelineObserver? Observer { get; set; }

    /// <summary>Every problem of the definition, one sentence each.</summary>
    public List<string> Validate()
    {
        var problems = new List<string>();
        if (Built)
        {
            problems.Add("Build() was already called; a builder builds one pipeline. Start a new one with PipelineBuilder.Create.");
            return problems;
        }

        if (string.IsNullOrWhiteSpace(Name))
        {
            problems.Add("the pipeline has no name; pass a non-empty name to PipelineBuilder.Create.");
        }

        problems.AddRange(Options.Validate());
        if (Stages.Count == 0)
        {
            problems.Add("it has no stages; add stages and end with .Sink(...).");
            return problems;
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var sinkIndex = -1;
        for (var i = 0; i < Stages.Count; i++)
        {
            var stage = Stages[i];
            var kind = stage.KindName;
            var label = string.IsNullOrWhiteSpace(stage.Name) ? $"stage {i + 1} ({kind})" : $"stage '{stage.Name}' ({kind})";
            if (string.IsNullOrWhiteSpace(stage.Name))
            {
                problems.Add($"{label} has no name; every stage needs a unique name.");
            }
            else if (seen.TryGetValue(stage.Name, out var first))
            {
                problems.Add($"{label}: the name '{stage.Name}' is already used by stage {first + 1}; stage names must be unique.");
            }
            else
            {
                seen.Add(stage.Name, i);
            }

            if (stage.Position != i)
            {
                problems.Add($"{label} was added to a builder that already had a stage after it; chain each call on the builder returned by the previous one.");
            }

            if (sinkIndex >= 0)
            {
                problems.Add($"{label} comes after the sink '{Stages[sinkIndex].Name}'; the sink must be the last stage.");
            }

            if (stage.Kind == StageKind.Sink && sinkIndex < 0)
            {
                sinkIndex = i;
            }

            var options = stage.Options;
            if (options.Capacity is < 1)
            {
                problems.Add($"{label}: Capacity must be at least 1 (was {options.Capacity}).");
            }

            if (options.Parallelism < 1)
            {
                problems.Add($"{label}: Parallelism must be at least 1 (was {options.Parallelism}).");
            }
            else if (options.Parallelism > 1 && stage.Kind != StageKind.Enrich)
            {
                problems.Add($"{label}: Parallelism applies to enrich stages only (was {options.Parallelism}).");
            }

            if (options.Timeout is { } timeout && timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            {
                problems.Add($"{label}: Timeout must be positive or infinite (was {timeout}).");
            }

            if (options.Retry is { } retry)
            {
                problems.AddRange(retry.Validate(label));
            }

            problems.AddRange(stage.Validate(label));
        }

        if (sinkIndex < 0)
        {
            var last = Stages[^1];
            problems.Add($"it has no sink; the last stage is '{last.Name}' ({last.KindName}). End the pipeline with .Sink(...).");
        }

        return problems;
    }
}
