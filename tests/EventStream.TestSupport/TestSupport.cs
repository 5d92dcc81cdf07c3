using Microsoft.Extensions.Time.Testing;

namespace EventStream.Tests;

/// <summary>The polling and accounting helpers every test suite shares.</summary>
public static class TestSupport
{
    /// <summary>Waits (on the real clock, bounded) until a condition holds; fails the test otherwise.</summary>
    public static async Task Eventually(Func<bool> condition, string what, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException($"Timed out waiting for: {what}");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>Waits (on the real clock, bounded) until an asynchronous condition holds, e.g. a Redis query; fails the test otherwise.</summary>
    public static async Task Eventually(Func<Task<bool>> condition, string what, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!await condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException($"Timed out waiting for: {what}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Advances a fake clock in steps until <paramref name="task"/> completes (bounded by real time).</summary>
    public static async Task DriveUntil(this FakeTimeProvider time, Task task, TimeSpan step, int timeoutMs = 20_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!task.IsCompleted)
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException("The pipeline did not finish while the fake clock was driven.");
            }

            time.Advance(step);
            await Task.Delay(1);
        }

        await task;
    }

    /// <summary>The accounting of a pipeline that has completed (nothing in flight): the package's own check, for every suite.</summary>
    public static void ShouldBeBalanced(this PipelineMetrics m) => EventStream.Testing.PipelineAccounting.AssertBalanced(m);

    /// <summary>
    /// The dead-letter store's accounting: what went in (dead-lettered, and late with no late output) less what replay and
    /// discard took out is what the pipeline's store holds, for a pipeline that started on an empty store of its own with
    /// no replay in flight and every late event in the store.
    /// </summary>
    public static void ShouldAccountForTheStore(this PipelineMetrics m, long entriesInStore) =>
        (m.DeadLettered + m.Late - m.Replayed - m.Discarded).Should().Be(
            entriesInStore,
            "the entries in the store are the dead-lettered and late events less those replayed and discarded ({0})", m);
}
