namespace EventStream.Tests;

public class BuildValidationTests
{
    [Fact]
    public void A_pipeline_without_stages_fails_at_build_naming_the_problem()
    {
        var act = () => PipelineBuilder.Create<int>("empty").Build();

        act.Should().Throw<PipelineConfigurationException>().WithMessage("*'empty'*no stages*");
    }

    [Fact]
    public void A_pipeline_without_a_sink_fails_at_build()
    {
        var act = () => PipelineBuilder.Create<int>("no-sink").Transform("t", x => x + 1).Build();

        act.Should().Throw<PipelineConfigurationException>().WithMessage("*no sink*last stage is 't'*");
    }

    [Fact]
    public void A_stage_after_the_sink_fails_at_build()
    {
        var act = () => PipelineBuilder.Create<int>("sink-not-last")
            .Sink("s", _ => { })
            .Filter("late-filter", _ => true)
            .Build();

        act.Should().Throw<PipelineConfigurationException>().WithMessage("*'late-filter'*after the sink 's'*");
    }

    [Fact]
    public void Duplicate_stage_names_fail_at_build()
    {
        var act = () => PipelineBuilder.Create<int>("dupes")
            .Transform("step", x => x)
            .Transform("step", x => x)
            .Sink("s", _ => { })
            .Build();

        act.Should().Throw<PipelineConfigurationException>().WithMessage("*name 'step' is already used*");
    }

    [Fact]
    public void Zero_capacity_fails_at_build_for_the_pipeline_and_for_a_stage()
    {
        var act = () => PipelineBuilder.Create<int>("zero", o => o.Capacity = 0)
            .Sink("s", _ => { }, new StageOptions { Capacity = 0 })
            .Build();

        var problems = act.Should().Throw<PipelineConfigurationException>().Which.Problems;
        problems.Should().Contain(p => p.StartsWith("Capacity must be at least 1", StringComparison.Ordinal));
        problems.Should().Contain(p => p.Contains("stage 's' (sink): Capacity must be at least 1 (was 0)", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var act = () => PipelineBuilder.Create<int>("many", o => o.BatchSize = 0)
            .Filter("f", _ => true, new StageOptions { Parallelism = 4 })
            .Enrich("", (x, _) => ValueTask.FromResult(x), new StageOptions { Timeout = TimeSpan.Zero })
            .Transform("t", x => x, new StageOptions { Retry = new RetryOptions { MaxAttempts = 0 } })
            .Build();

        var problems = act.Should().Throw<PipelineConfigurationException>().Which.Problems;
        problems.Should().HaveCount(6);
        problems.Should().Contain(p => p.Contains("BatchSize", StringComparison.Ordinal));
        problems.Should().Contain(p => p.Contains("Parallelism applies to enrich stages only", StringComparison.Ordinal));
        problems.Should().Contain(p => p.Contains("stage 2 (enrich) has no name", StringComparison.Ordinal));
        problems.Should().Contain(p => p.Contains("Timeout must be positive", StringComparison.Ordinal));
        problems.Should().Contain(p => p.Contains("Retry.MaxAttempts", StringComparison.Ordinal));
        problems.Should().Contain(p => p.Contains("no sink", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_builder_builds_once()
    {
        var builder = PipelineBuilder.Create<int>("once").Sink("s", _ => { });
        await using var first = builder.Build();

        var act = () => builder.Build();

        act.Should().Throw<PipelineConfigurationException>().WithMessage("*already called*");
    }

    [Fact]
    public void Branching_a_builder_is_reported_instead_of_silently_mixing_chains()
    {
        var start = PipelineBuilder.Create<int>("branch");
        start.Transform("a", x => x.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var act = () => start.Filter("b", _ => true).Sink("s", _ => { }).Build();

        act.Should().Throw<PipelineConfigurationException>().WithMessage("*'b'*chain each call*");
    }

    [Fact]
    public void Null_handlers_fail_immediately_with_the_parameter_named()
    {
        var act = () => PipelineBuilder.Create<int>("nulls").Transform<int>("t", null!);

        act.Should().Throw<ArgumentNullException>().WithParameterName("transform");
    }
}
