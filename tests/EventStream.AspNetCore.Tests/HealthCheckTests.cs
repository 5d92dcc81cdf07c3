using System.Net;
using EventStream.AspNetCore.HealthChecks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static EventStream.Tests.TestSupport;

namespace EventStream.AspNetCore.Tests;

/// <summary>The pipeline health check over a real Kestrel host: status over HTTP, figures from <see cref="HealthCheckService"/>.</summary>
public sealed class HealthCheckTests
{
    /// <summary>A sink that holds every event until released; negative events fail for good (not retried).</summary>
    private sealed class GatedSink
    {
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask Handle(int item, CancellationToken cancellationToken)
        {
            if (item < 0)
            {
                throw new ArgumentException($"Event {item} is invalid.");
            }

            await Gate.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>A dead-letter store standing for a remote one that is down.</summary>
    private sealed class BrokenStore(bool addFails, bool countFails) : IDeadLetterStore
    {
        public bool IsFull => false;

        public ValueTask AddAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default) =>
            addFails ? throw new InvalidOperationException("dead-letter store unreachable (add)") : default;

        public ValueTask ReplaceAsync(DeadLetterEntry entry, CancellationToken cancellationToken = default) => default;

        public ValueTask<IReadOnlyList<DeadLetterEntry>> ListAsync(string? pipeline = null, int limit = 100, CancellationToken cancellationToken = default) =>
            new(Array.Empty<DeadLetterEntry>());

        public ValueTask<long> CountAsync(string? pipeline = null, CancellationToken cancellationToken = default) =>
            countFails ? throw new InvalidOperationException("dead-letter store unreachable (count)") : new(0);

        public ValueTask<bool> RemoveAsync(string id, CancellationToken cancellationToken = default) => new(false);
    }

    private sealed class Host(WebApplication app, HttpClient client, GatedSink sink) : IAsyncDisposable
    {
        public IEventPipeline<int> Pipeline => app.Services.GetRequiredService<IEventPipeline<int>>();

        public GatedSink Sink => sink;

        public async Task<(HttpStatusCode Status, string Body)> GetAsync()
        {
            using var response = await client.GetAsync("/healthz");
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        public async Task<HealthReportEntry> CheckAsync()
        {
            var report = await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
            return report.Entries.Should().ContainSingle().Subject.Value;
        }

        public async ValueTask DisposeAsync()
        {
            sink.Gate.TrySetResult();
            client.Dispose();
            try
            {
                await app.StopAsync();
            }
            catch (Exception) when (Pipeline.Completion.IsFaulted)
            {
                // The hosted service's drain rethrows the fault a test provoked on purpose.
            }

            await app.DisposeAsync();
        }
    }

    private static async Task<Host> StartAsync(
        Action<PipelineOptions>? pipeline = null,
        Action<EventPipelineHealthCheckOptions>? health = null,
        IDeadLetterStore? store = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var sink = new GatedSink();
        builder.Services
            .AddEventPipeline<int>("orders", (b, _) => b.Sink("gated", sink.Handle).Build())
            .ConfigureOptions(o =>
            {
                o.BackpressureThreshold = 10;
                o.BatchSize = 1;
                o.DrainTimeout = TimeSpan.FromSeconds(1);
                o.DeadLetterStore = store;
                pipeline?.Invoke(o);
            });
        builder.Services.AddHealthChecks().AddEventPipelineHealthCheck<int>("orders", health);
        var app = builder.Build();
        app.MapHealthChecks("/healthz");
        await app.StartAsync();
        var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        return new Host(app, client, sink);
    }

    [Fact]
    public async Task Healthy_then_degraded_as_the_backlog_passes_the_share_of_the_threshold()
    {
        await using var host = await StartAsync();

        (await host.GetAsync()).Should().Be((HttpStatusCode.OK, "Healthy"));

        for (var i = 0; i < 7; i++)
        {
            host.Pipeline.TryWrite(i).Should().BeTrue();
        }

        // 7 in flight, under 0.8 × 10 = 8: still healthy.
        var entry = await host.CheckAsync();
        entry.Status.Should().Be(HealthStatus.Healthy);
        entry.Data["inFlight"].Should().Be(7L);
        entry.Data["inFlightLimit"].Should().Be(8L);
        entry.Data["backpressureThreshold"].Should().Be(10L);
        entry.Data["deadLetters"].Should().Be(0L);
        entry.Data["deadLetterStoreFull"].Should().Be(false);
        (await host.GetAsync()).Should().Be((HttpStatusCode.OK, "Healthy"));

        host.Pipeline.TryWrite(7).Should().BeTrue();
        await Eventually(async () => (await host.CheckAsync()).Status == HealthStatus.Degraded, "degraded at 8 in flight");

        entry = await host.CheckAsync();
        entry.Data["inFlight"].Should().Be(8L);
        entry.Description.Should().Contain("orders").And.Contain("8 events in flight").And.Contain("backpressure threshold 10");
        entry.Exception.Should().BeNull();

        // ASP.NET Core's default mapping: Degraded still answers 200 (the instance keeps its traffic), with the status in the body.
        (await host.GetAsync()).Should().Be((HttpStatusCode.OK, "Degraded"));

        host.Pipeline.GetMetrics().InFlight.Should().Be(8);
    }

    [Fact]
    public async Task Backlog_drained_is_healthy_again()
    {
        await using var host = await StartAsync();
        for (var i = 0; i < 9; i++)
        {
            host.Pipeline.TryWrite(i).Should().BeTrue();
        }

        (await host.CheckAsync()).Status.Should().Be(HealthStatus.Degraded);

        host.Sink.Gate.TrySetResult();
        await Eventually(async () => (await host.CheckAsync()).Status == HealthStatus.Healthy, "healthy once drained");
        (await host.GetAsync()).Should().Be((HttpStatusCode.OK, "Healthy"));
    }

    [Fact]
    public async Task Unhealthy_with_503_once_the_pipeline_faults()
    {
        // A failure the dead-letter store cannot record faults the pipeline (nothing admitted may be lost silently).
        await using var host = await StartAsync(store: new BrokenStore(addFails: true, countFails: false));
        (await host.GetAsync()).Should().Be((HttpStatusCode.OK, "Healthy"));

        host.Pipeline.TryWrite(-1).Should().BeTrue();
        await Eventually(() => host.Pipeline.Completion.IsFaulted, "the pipeline faults");

        (await host.GetAsync()).Should().Be((HttpStatusCode.ServiceUnavailable, "Unhealthy"));
        var entry = await host.CheckAsync();
        entry.Status.Should().Be(HealthStatus.Unhealthy);
        entry.Data["completion"].Should().Be("Faulted");
        entry.Description.Should().Contain("orders").And.Contain("faulted").And.Contain("unreachable");
        entry.Exception.Should().NotBeNull();
    }

    [Fact]
    public async Task Unhealthy_once_the_pipeline_has_completed_while_the_app_runs()
    {
        await using var host = await StartAsync();
        await host.Pipeline.CompleteAsync();
        host.Pipeline.Completion.Status.Should().Be(TaskStatus.RanToCompletion);

        (await host.GetAsync()).Should().Be((HttpStatusCode.ServiceUnavailable, "Unhealthy"));
        var entry = await host.CheckAsync();
        entry.Data["completion"].Should().Be("RanToCompletion");
        entry.Description.Should().Contain("has completed");
        entry.Exception.Should().BeNull();
    }

    [Fact]
    public async Task Dead_letters_past_the_share_of_the_configured_capacity_degrade()
    {
        await using var host = await StartAsync(health: o => o.DeadLetterCapacity = 5);
        for (var i = 1; i <= 3; i++)
        {
            host.Pipeline.TryWrite(-i).Should().BeTrue();
        }

        await Eventually(() => host.Pipeline.GetMetrics().DeadLettered == 3, "three dead letters");
        var entry = await host.CheckAsync();
        entry.Status.Should().Be(HealthStatus.Healthy);
        entry.Data["deadLetters"].Should().Be(3L);
        entry.Data["deadLetterLimit"].Should().Be(4L);

        host.Pipeline.TryWrite(-4).Should().BeTrue();
        await Eventually(async () => (await host.CheckAsync()).Status == HealthStatus.Degraded, "degraded at 4 of 5 dead letters");
        entry = await host.CheckAsync();
        entry.Data["deadLetters"].Should().Be(4L);
        entry.Data["deadLetterCapacity"].Should().Be(5L);
        entry.Description.Should().Contain("4 dead letters");
        (await host.GetAsync()).Should().Be((HttpStatusCode.OK, "Degraded"));
    }

    [Fact]
    public async Task A_full_dead_letter_store_degrades()
    {
        var store = new InMemoryDeadLetterStore(new InMemoryDeadLetterStoreOptions { Capacity = 2, FullMode = DeadLetterFullMode.RejectIngest });
        await using var host = await StartAsync(store: store);
        host.Pipeline.TryWrite(-1).Should().BeTrue();
        host.Pipeline.TryWrite(-2).Should().BeTrue();

        await Eventually(() => store.IsFull, "the store fills");
        var entry = await host.CheckAsync();
        entry.Status.Should().Be(HealthStatus.Degraded);
        entry.Data["deadLetterStoreFull"].Should().Be(true);
        entry.Description.Should().Contain("dead-letter store is full");
    }

    [Fact]
    public async Task A_store_that_throws_is_degraded_by_default_with_its_exception()
    {
        await using var host = await StartAsync(store: new BrokenStore(addFails: false, countFails: true));
        var entry = await host.CheckAsync();
        entry.Status.Should().Be(HealthStatus.Degraded);
        entry.Exception.Should().BeOfType<InvalidOperationException>().Which.Message.Should().Contain("unreachable (count)");
        entry.Data["deadLetterStoreError"].Should().Be(nameof(InvalidOperationException));
        entry.Description.Should().Contain("dead-letter store failed");
        (await host.GetAsync()).Should().Be((HttpStatusCode.OK, "Degraded"));
    }

    [Fact]
    public async Task A_store_that_throws_can_be_made_unhealthy()
    {
        await using var host = await StartAsync(
            store: new BrokenStore(addFails: false, countFails: true),
            health: o => o.DeadLetterStoreFailureStatus = HealthStatus.Unhealthy);
        (await host.GetAsync()).Should().Be((HttpStatusCode.ServiceUnavailable, "Unhealthy"));
        (await host.CheckAsync()).Exception.Should().BeOfType<InvalidOperationException>();
    }

    [Fact]
    public async Task Invalid_options_fail_the_start()
    {
        var act = () => StartAsync(health: o => o.InFlightShare = 0);
        await act.Should().ThrowAsync<OptionsValidationException>();
    }
}
