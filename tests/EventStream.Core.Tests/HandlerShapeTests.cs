using System.Collections.Concurrent;

namespace EventStream.Tests;

/// <summary>Handlers in the shapes real code has: Task-returning methods, as method groups and lambdas (issue 11).</summary>
public sealed class HandlerShapeTests
{
    /// <summary>A store and a lookup as client libraries write them: Task-returning.</summary>
    private sealed class Store
    {
        public ConcurrentQueue<string> Saved { get; } = new();

        public async Task SaveAsync(string value, CancellationToken cancellationToken)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            if (value.Contains("bad", StringComparison.Ordinal))
            {
                throw new IOException($"cannot save {value}");
            }

            Saved.Enqueue(value);
        }

        public async Task<string> LookupAsync(string key, CancellationToken cancellationToken)
        {
            await Task.Delay(1, cancellationToken);
            return key + "!";
        }
    }

    [Fact]
    public async Task Task_returning_methods_are_taken_as_method_groups_and_lambdas_and_their_failures_are_dead_lettered()
    {
        // Before, these failed to compile: Sink and Enrich took ValueTask-returning delegates only (CS0407, CS0029).
        var store = new Store();
        var other = new Store();
        await using var pipeline = PipelineBuilder.Create<string>("shapes", o => o.Retry = RetryOptions.None)
            .Enrich("lookup", store.LookupAsync)
            .Enrich("again", (s, ct) => store.LookupAsync(s, ct))
            .Enrich("async lambda", async (s, ct) => { await Task.Yield(); return s; }) // still the ValueTask overload
            .Sink("store", store.SaveAsync)
            .Build();
        await using var second = PipelineBuilder.Create<string>("lambda")
            .Sink("store", (s, ct) => other.SaveAsync(s, ct))
            .Build();

        await pipeline.WriteBatchAsync(new[] { "a", "bad", "c" });
        await pipeline.CompleteAsync();
        await second.WriteAsync("x");
        await second.CompleteAsync();

        store.Saved.Should().BeEquivalentTo("a!!", "c!!");
        other.Saved.Should().Equal("x");
        var letter = (await pipeline.DeadLetters.ListAsync("shapes")).Should().ContainSingle().Subject;
        (letter.Stage, letter.Reason, letter.Message).Should().Be(("store", DeadLetterReason.Failed, "cannot save bad!!"));
    }
}
