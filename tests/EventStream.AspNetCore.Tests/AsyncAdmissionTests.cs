using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventStream.AspNetCore.Tests;

/// <summary>
/// The door admits through <see cref="IEventPipeline{T}.IngestAsync"/>: a pipeline of the application's own whose
/// admission does I/O (the dashboard's publishes to Redis) is awaited, not blocked on, on the request's thread.
/// </summary>
public sealed class AsyncAdmissionTests
{
    [Fact]
    public async Task The_door_awaits_the_pipeline_s_own_asynchronous_admission_and_never_calls_the_blocking_one()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var broker = new SlowBroker();
        builder.Services.AddSingleton<IEventPipeline<PipelineEvent>>(broker);
        await using var app = builder.Build();
        app.MapEventIngest<PipelineEvent>("/events");
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        var post = client.PostAsync("/events", new StringContent("""[{"id":"a","type":"t","source":"s","timestamp":1,"data":{}}]""", Encoding.UTF8, "application/json"));
        await broker.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        post.IsCompleted.Should().BeFalse("the answer waits for the admission to finish");
        broker.Publish.SetResult();
        var response = await post;

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        broker.Admitted.Should().ContainSingle().Which.Id.Should().Be("a");
        await app.StopAsync();
    }

    /// <summary>An application's pipeline whose admission is a publish that completes when the test says.</summary>
    private sealed class SlowBroker : IEventPipeline<PipelineEvent>
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Publish { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<PipelineEvent> Admitted { get; } = [];

        public string Name => "broker";

        public IDeadLetterStore DeadLetters { get; } = new InMemoryDeadLetterStore();

        public Task Completion { get; } = new TaskCompletionSource().Task;

        public void Ingest(ReadOnlySpan<PipelineEvent> items) => throw new InvalidOperationException("the door must not block on the synchronous admission");

        public async ValueTask IngestAsync(ReadOnlyMemory<PipelineEvent> items, CancellationToken cancellationToken = default)
        {
            Started.SetResult();
            await Publish.Task;
            Admitted.AddRange(items.ToArray());
        }

        public bool TryWrite(PipelineEvent item) => throw new NotSupportedException();

        public ValueTask WriteAsync(PipelineEvent item, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask WriteBatchAsync(ReadOnlyMemory<PipelineEvent> items, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public void Complete()
        {
        }

        public Task CompleteAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public PipelineMetrics GetMetrics() => new() { Pipeline = Name, Stages = [] };

        public Task<ReplayResult> ReplayDeadLettersAsync(int maxCount = int.MaxValue, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<long> DiscardDeadLettersAsync(DeadLetterDiscard filter, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
