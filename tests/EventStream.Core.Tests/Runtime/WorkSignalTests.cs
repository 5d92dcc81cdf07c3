using System.Collections.Concurrent;

namespace EventStream.Tests.Runtime;

/// <summary>The signal that wakes a segment's worker for events, retries, replays and ticks.</summary>
public sealed class WorkSignalTests
{
    [Fact]
    public void A_set_before_the_wait_lets_the_wait_return_at_once()
    {
        var signal = new WorkSignal();
        signal.Set();

        CompletedAtOnce(signal.WaitAsync(CancellationToken.None)).Should().BeTrue();
    }

    [Fact]
    public async Task A_wait_ends_when_the_signal_is_set()
    {
        var signal = new WorkSignal();
        var wait = signal.WaitAsync(CancellationToken.None).AsTask();
        wait.IsCompleted.Should().BeFalse("nothing has set the signal yet");

        signal.Set();

        await wait.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Sets_while_nobody_waits_wake_the_next_wait_only()
    {
        var signal = new WorkSignal();
        signal.Set();
        signal.Set();

        CompletedAtOnce(signal.WaitAsync(CancellationToken.None)).Should().BeTrue();
        var second = signal.WaitAsync(CancellationToken.None).AsTask();
        second.IsCompleted.Should().BeFalse("the two sets were one wake-up, and it was taken");

        signal.Set();
        await second.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_cancelled_wait_throws_and_the_signal_works_afterwards()
    {
        var signal = new WorkSignal();
        using var cancel = new CancellationTokenSource();
        var wait = signal.WaitAsync(cancel.Token).AsTask();

        await cancel.CancelAsync();

        await FluentActions.Awaiting(() => wait.WaitAsync(TimeSpan.FromSeconds(10))).Should().ThrowAsync<OperationCanceledException>();
        signal.Set();
        CompletedAtOnce(signal.WaitAsync(CancellationToken.None)).Should().BeTrue();
    }

    [Fact]
    public void A_wait_on_a_cancelled_token_throws_at_once()
    {
        var signal = new WorkSignal();

        FluentActions.Invoking(() => signal.WaitAsync(new CancellationToken(canceled: true))).Should().Throw<OperationCanceledException>();
    }

    [Fact]
    public async Task No_wake_up_is_lost_when_a_producer_races_the_waiter()
    {
        // Ping-pong: the producer posts one item and sets, then waits until the waiter has taken it. Each round the set
        // lands somewhere between the waiter's last empty check and its wait; a lost wake-up leaves the waiter asleep
        // with the item posted, and the round never ends.
        const int rounds = 20_000;
        var signal = new WorkSignal();
        var items = new ConcurrentQueue<int>();
        var consumed = 0;
        var consumer = Task.Run(async () =>
        {
            while (Volatile.Read(ref consumed) < rounds)
            {
                while (items.TryDequeue(out _))
                {
                    Interlocked.Increment(ref consumed);
                }

                if (Volatile.Read(ref consumed) < rounds)
                {
                    await signal.WaitAsync(CancellationToken.None);
                }
            }
        });

        var producer = Task.Run(() =>
        {
            for (var round = 1; round <= rounds; round++)
            {
                items.Enqueue(round);
                signal.Set();
                var spin = new SpinWait();
                var deadline = Environment.TickCount64 + 10_000;
                while (Volatile.Read(ref consumed) < round)
                {
                    if (Environment.TickCount64 > deadline)
                    {
                        throw new TimeoutException($"Round {round}: the waiter did not wake for a posted item.");
                    }

                    spin.SpinOnce();
                }
            }
        });

        await producer.WaitAsync(TimeSpan.FromSeconds(60));
        await consumer.WaitAsync(TimeSpan.FromSeconds(10));
        consumed.Should().Be(rounds);
    }

    private static bool CompletedAtOnce(ValueTask wait) => wait.IsCompletedSuccessfully;
}
