using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EventStream.Tests;

public class DependencyInjectionTests
{
    [Fact]
    public async Task Windows_a_host_stop_fires_say_they_are_stopped_not_on_time()
    {
        // Regression (issue 10): a host stop completed the pipeline, so every open window fired as OnTime, a final value,
        // although the watermark had not reached its end (a restart then fired the same window again from empty).
        var results = new ConcurrentQueue<WindowResult<string, long>>();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddEventPipeline<(string Key, long Ts)>("views", (pipeline, _) => pipeline
            .Window("per-key", new WindowOptions<(string Key, long Ts), string>
            {
                Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)),
                Key = e => e.Key,
                Timestamp = e => e.Ts,
            }, Aggregates.Count<(string Key, long Ts)>())
            .Sink("collect", r => results.Enqueue(r))
            .Build());
        using var host = builder.Build();
        await host.StartAsync();
        var pipeline = host.Services.GetRequiredService<IEventPipeline<(string Key, long Ts)>>();
        await pipeline.WriteBatchAsync(new[] { ("a", 1_000L), ("a", 12_000L), ("a", 13_000L) });

        await host.StopAsync();

        results.Select(r => (r.Start, r.Count, r.Firing)).Should().Equal(
            (0L, 1L, WindowFiring.OnTime),      // the watermark (12,999) passed its end: final
            (10_000L, 2L, WindowFiring.Stopped)); // open when the host stopped: partial, and marked so

        // Completing the input is the end of the stream: the last window is final then.
        var direct = new ConcurrentQueue<WindowResult<string, long>>();
        var complete = PipelineBuilder.Create<(string Key, long Ts)>("direct")
            .Window("per-key", new WindowOptions<(string Key, long Ts), string> { Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)), Key = e => e.Key, Timestamp = e => e.Ts }, Aggregates.Count<(string Key, long Ts)>())
            .Sink("collect", r => direct.Enqueue(r))
            .Build();
        await complete.WriteAsync(("a", 1_000L));
        await complete.CompleteAsync();
        direct.Should().ContainSingle().Which.Firing.Should().Be(WindowFiring.OnTime);
    }

    [Fact]
    public async Task A_hosted_pipeline_starts_with_the_host_and_drains_when_it_stops()
    {
        var delivered = new ConcurrentQueue<string>();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(delivered);
        builder.Services.AddEventPipeline<string>("clicks", (pipeline, sp) => pipeline
                .Transform("upper", s => s.ToUpperInvariant())
                .Enrich("slow", async (string s, CancellationToken ct) => { await Task.Delay(1, ct); return s; })
                .Sink("collect", s => sp.GetRequiredService<ConcurrentQueue<string>>().Enqueue(s))
                .Build())
            .ConfigureOptions(o => o.Capacity = 10);
        using var host = builder.Build();

        await host.StartAsync();
        var pipeline = host.Services.GetRequiredKeyedService<IEventPipeline<string>>("clicks");
        host.Services.GetRequiredService<IEventPipeline<string>>().Should().BeSameAs(pipeline);
        for (var i = 0; i < 50; i++)
        {
            await pipeline.WriteAsync($"e{i}");
        }

        await host.StopAsync();

        delivered.Should().HaveCount(50, "stopping the host drains the pipeline");
        pipeline.Completion.IsCompletedSuccessfully.Should().BeTrue();
        pipeline.GetMetrics().Stages[0].Capacity.Should().Be(10);
    }

    [Fact]
    public async Task Options_bound_from_configuration_are_validated_at_start_up_naming_each_problem()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pipelines:clicks:Capacity"] = "0",
            ["Pipelines:clicks:BatchSize"] = "-1",
        });
        builder.Services.Configure<PipelineOptions>("clicks", builder.Configuration.GetSection("Pipelines:clicks"));
        builder.Services.AddEventPipeline<int>("clicks", (p, _) => p.Sink("s", _ => { }).Build());
        using var host = builder.Build();

        var act = () => host.StartAsync();

        var ex = (await act.Should().ThrowAsync<OptionsValidationException>()).Which;
        ex.Failures.Should().Contain(f => f.Contains("'clicks'", StringComparison.Ordinal) && f.Contains("Capacity must be at least 1 (was 0)", StringComparison.Ordinal));
        ex.Failures.Should().Contain(f => f.Contains("BatchSize must be at least 1 (was -1)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Named_pipelines_are_resolved_by_key_and_use_their_own_options()
    {
        var services = new ServiceCollection();
        services.AddEventPipeline<int>("a", (p, _) => p.Sink("s", _ => { }).Build()).ConfigureOptions(o => o.Capacity = 11);
        services.AddEventPipeline<int>("b", (p, _) => p.Sink("s", _ => { }).Build()).ConfigureOptions(o => o.Capacity = 22);
        await using var provider = services.BuildServiceProvider();

        var a = provider.GetRequiredKeyedService<IEventPipeline<int>>("a");
        var b = provider.GetRequiredKeyedService<IEventPipeline<int>>("b");

        a.Name.Should().Be("a");
        b.Name.Should().Be("b");
        a.GetMetrics().Stages[0].Capacity.Should().Be(11);
        b.GetMetrics().Stages[0].Capacity.Should().Be(22);
        provider.GetRequiredService<IEventPipeline<int>>().Should().BeSameAs(a, "the first pipeline of a type is the unkeyed default");
    }

    [Fact]
    public void Registering_the_same_name_twice_fails_clearly()
    {
        var services = new ServiceCollection();
        services.AddEventPipeline<int>("dup", (p, _) => p.Sink("s", _ => { }).Build());

        var act = () => services.AddEventPipeline<int>("dup", (p, _) => p.Sink("s", _ => { }).Build());

        act.Should().Throw<InvalidOperationException>().WithMessage("*'dup' is already registered*");
    }

    [Fact]
    public async Task The_host_time_provider_and_dead_letter_store_are_used()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = new InMemoryDeadLetterStore();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddSingleton<IDeadLetterStore>(store);
        services.AddEventPipeline<int>((p, _) => p.Transform("fail", int (x) => throw new ArgumentException("bad")).Sink("s", _ => { }).Build());
        await using var provider = services.BuildServiceProvider();
        var pipeline = provider.GetRequiredService<IEventPipeline<int>>();

        await pipeline.WriteAsync(1);
        await pipeline.CompleteAsync();

        var entry = (await store.ListAsync()).Should().ContainSingle().Subject;
        entry.Pipeline.Should().Be(EventPipelineServiceCollectionExtensions.DefaultName);
        entry.FirstFailure.Should().Be(time.GetUtcNow());
        pipeline.GetMetrics().Timestamp.Should().Be(time.GetUtcNow());
    }
}
