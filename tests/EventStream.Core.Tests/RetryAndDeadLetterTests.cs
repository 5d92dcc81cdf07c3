using System.Collections.Concurrent;
using EventStream.Testing;
using Microsoft.Extensions.Time.Testing;

namespace EventStream.Tests;

public class RetryAndDeadLetterTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static PipelineOptions Options(TimeProvider time, IDeadLetterStore? store = null) => new()
    {
        TimeProvider = time,
        DeadLetterStore = store,
        BatchSize = 8,
        Retry = new RetryOptions { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(100), UseJitter = false },
    };

    [Fact]
    public async Task A_replay_returns_when_the_pipeline_is_cancelled_while_a_replayed_event_is_in_flight()
    {
        var store = new InMemoryDeadLetterStore();
        await store.AddAsync(new DeadLetterEntry { Id = "d1", Pipeline = "replay-cancel", Stage = "s", Event = 7, Attempts = 1 });
        var pipeline = PipelineBuilder.Create<int>("replay-cancel", o =>
            {
                o.DeadLetterStore = store;
                o.Retry = new RetryOptions { MaxAttempts = 3, BaseDelay = TimeSpan.FromSeconds(30), UseJitter = false };
            })
            .Sink("s", (int _) => throw new TimeoutException("still down"))
            .Build();

        // The replayed event fails again and waits 30 s for its retry when the pipeline is cancelled.
        var replay = pipeline.ReplayDeadLettersAsync();
        await TestSupport.Eventually(() => pipeline.GetMetrics().Retries == 1, "the replayed event waits for its retry");
        await pipeline.DisposeAsync(); // cancels: the replayed event is dead-lettered again as a leftover

        var result = await replay.WaitAsync(TimeSpan.FromSeconds(10));
        result.Replayed.Should().Be(0);
        result.FailedAgain.Should().Be(1, "the pipeline ended before the replayed event was delivered");
        (await store.ListAsync()).Should().Contain(e => e.Id == "d1", "the original stays: the event was not delivered");
    }

    [Fact]
    public async Task A_failing_event_waits_for_its_retry_off_the_line_while_the_events_behind_it_are_delivered()
    {
        var time = new ArmingTimeProvider(Start);
        var delivered = new ConcurrentQueue<int>();
        var attempts = new ConcurrentDictionary<int, int>();
        await using var pipeline = PipelineBuilder.Create<int>("retry-off-line", Options(time))
            .Transform("flaky", x => attempts.AddOrUpdate(x, 1, (_, n) => n + 1) < 3 && x == 1 ? throw new IOException("flaky") : x)
            .Sink("collect", x => delivered.Enqueue(x))
            .Build();

        foreach (var x in new[] { 1, 2, 3, 4 })
        {
            await pipeline.WriteAsync(x);
        }

        await TestSupport.Eventually(() => delivered.Count == 3, "the three healthy events delivered");
        delivered.Should().Equal(2, 3, 4);

        (await time.ArmedAsync(1)).Should().Be(TimeSpan.FromMilliseconds(100));
        time.Advance(TimeSpan.FromMilliseconds(100)); // first retry (fails again)
        await TestSupport.Eventually(() => attempts[1] == 2, "second attempt");
        delivered.Should().HaveCount(3);
        (await time.ArmedAsync(2)).Should().Be(TimeSpan.FromMilliseconds(200));
        time.Advance(TimeSpan.FromMilliseconds(200)); // second retry, backoff doubled (succeeds)
        await TestSupport.Eventually(() => delivered.Count == 4, "the retried event delivered");

        await pipeline.CompleteAsync();
        var m = pipeline.GetMetrics();
        m.Retries.Should().Be(2);
        m.DeadLettered.Should().Be(0);
        m.ShouldBeBalanced();
    }

    [Fact]
    public async Task A_retry_re_enters_the_failing_stage_only_so_earlier_side_effects_do_not_repeat()
    {
        var time = new FakeTimeProvider(Start);
        var firstStageCalls = 0;
        var failuresLeft = 2;
        await using var pipeline = PipelineBuilder.Create<int>("no-repeat", Options(time))
            .Transform("side-effect", x => { Interlocked.Increment(ref firstStageCalls); return x; })
            .Transform("flaky", x => Interlocked.Decrement(ref failuresLeft) >= 0 ? throw new IOException("flaky") : x)
            .Sink("s", _ => { })
            .Build();

        await pipeline.WriteAsync(7);
        await time.DriveUntil(pipeline.CompleteAsync(), TimeSpan.FromMilliseconds(50));

        firstStageCalls.Should().Be(1);
        pipeline.GetMetrics().Delivered.Should().Be(1);
    }

    [Fact]
    public async Task When_retries_are_spent_the_event_is_dead_lettered_with_full_context()
    {
        await using var driver = PipelineTestDriver.Start(
            PipelineBuilder.Create<string>("spent", Options(TimeProvider.System))
                .Enrich("lookup", (string s, CancellationToken _) => s == "bad" ? throw new HttpRequestException("503 from geo service") : ValueTask.FromResult(s.Length))
                .Sink("s", _ => { }),
            new PipelineTestDriverOptions { StartTime = Start });

        await driver.SendAsync(["ok", "bad"]);
        driver.Metrics.Retries.Should().Be(1, "the first failure, before the clock moves");
        await driver.CompleteAsync(); // runs the back-offs of 100 and 200 ms on the driver's clock

        var entry = driver.DeadLetters.Should().ContainSingle().Subject;
        entry.Pipeline.Should().Be("spent");
        entry.Stage.Should().Be("lookup");
        entry.Reason.Should().Be(DeadLetterReason.Failed);
        entry.ExceptionType.Should().Be(typeof(HttpRequestException).FullName);
        entry.Message.Should().Be("503 from geo service");
        entry.Attempts.Should().Be(3);
        entry.Event.Should().Be("bad");
        entry.FirstFailure.Should().Be(Start);
        entry.LastFailure.Should().Be(Start.AddMilliseconds(300), "the last attempt is made after the two back-offs of 100 and 200 ms");
        driver.Metrics.Should().Match<PipelineMetrics>(m => m.Delivered == 1 && m.DeadLettered == 1 && m.Retries == 2);
        driver.AssertBalanced();
    }

    [Fact]
    public async Task A_permanent_failure_is_dead_lettered_at_once_without_retries()
    {
        var time = new FakeTimeProvider(Start);
        await using var pipeline = PipelineBuilder.Create<string>("permanent", Options(time))
            .Transform("parse", s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture))
            .Sink("s", _ => { })
            .Build();

        await pipeline.WriteAsync("not a number");
        await pipeline.CompleteAsync();

        var entry = (await pipeline.DeadLetters.ListAsync()).Should().ContainSingle().Subject;
        entry.ExceptionType.Should().Be(typeof(FormatException).FullName);
        entry.Attempts.Should().Be(1);
        pipeline.GetMetrics().Retries.Should().Be(0);
    }

    [Fact]
    public async Task The_retry_filter_decides_which_exceptions_are_retried()
    {
        var time = new FakeTimeProvider(Start);
        var calls = new ConcurrentDictionary<int, int>();
        var options = Options(time);
        options.Retry.ShouldRetry = ex => ex is TimeoutException;
        await using var pipeline = PipelineBuilder.Create<int>("filter", options)
            .Transform("t", x =>
            {
                calls.AddOrUpdate(x, 1, (_, n) => n + 1);
                return x switch
                {
                    1 => throw new IOException("io"),
                    2 => throw new TimeoutException("slow"),
                    _ => x,
                };
            })
            .Sink("s", _ => { })
            .Build();

        await pipeline.WriteAsync(1);
        await pipeline.WriteAsync(2);
        await time.DriveUntil(pipeline.CompleteAsync(), TimeSpan.FromMilliseconds(50));

        calls[1].Should().Be(1, "the filter does not retry an IOException");
        calls[2].Should().Be(3, "the filter retries a TimeoutException until the attempts are spent");
        var m = pipeline.GetMetrics();
        m.Retries.Should().Be(2);
        m.DeadLettered.Should().Be(2);
        (await pipeline.DeadLetters.ListAsync()).Select(e => (e.ExceptionType, e.Attempts)).Should().BeEquivalentTo(new[]
        {
            (typeof(IOException).FullName, 1),
            (typeof(TimeoutException).FullName, 3),
        });
    }

    [Fact]
    public async Task A_retry_filter_that_throws_dead_letters_the_event_at_once_and_the_pipeline_goes_on()
    {
        var time = new FakeTimeProvider(Start);
        var calls = 0;
        var delivered = new ConcurrentQueue<int>();
        var options = Options(time);
        options.Retry.ShouldRetry = _ => throw new InvalidOperationException("a bug in the filter");
        await using var pipeline = PipelineBuilder.Create<int>("throwing-filter", options)
            .Transform("t", x => { Interlocked.Increment(ref calls); return x == 1 ? throw new IOException("io") : x; })
            .Sink("s", x => delivered.Enqueue(x))
            .Build();

        await pipeline.WriteAsync(1);
        await pipeline.WriteAsync(2);
        await pipeline.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(10)); // the clock never moves: a retry would never come

        calls.Should().Be(2, "the failing event is not retried");
        delivered.Should().Equal(2);
        pipeline.Completion.IsCompletedSuccessfully.Should().BeTrue("the filter's failure does not stop the pipeline");
        var entry = (await pipeline.DeadLetters.ListAsync()).Should().ContainSingle().Subject;
        entry.ExceptionType.Should().Be(typeof(IOException).FullName, "the entry records the handler's failure, not the filter's");
        entry.Attempts.Should().Be(1);
        var m = pipeline.GetMetrics();
        m.Retries.Should().Be(0);
        m.ShouldBeBalanced();
    }

    [Fact]
    public async Task A_handler_that_hangs_past_its_timeout_is_cancelled_retried_and_dead_lettered()
    {
        var time = new FakeTimeProvider(Start);
        var tokensCancelled = 0;
        var options = Options(time);
        options.Timeout = TimeSpan.FromSeconds(2);
        await using var pipeline = PipelineBuilder.Create<int>("hang", options)
            .Enrich("slow", async (int x, CancellationToken ct) =>
            {
                if (x == 13)
                {
                    try
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }
                    catch (OperationCanceledException)
                    {
                        Interlocked.Increment(ref tokensCancelled);
                        throw;
                    }
                }

                return x;
            })
            .Sink("s", _ => { })
            .Build();

        await pipeline.WriteAsync(13);
        await pipeline.WriteAsync(14);
        await time.DriveUntil(pipeline.CompleteAsync(), TimeSpan.FromMilliseconds(250));

        var entry = (await pipeline.DeadLetters.ListAsync()).Should().ContainSingle().Subject;
        entry.ExceptionType.Should().Be(typeof(TimeoutException).FullName);
        entry.Message.Should().Contain("'slow'").And.Contain("2000 ms");
        entry.Attempts.Should().Be(3);
        await TestSupport.Eventually(() => Volatile.Read(ref tokensCancelled) == 3, "every timed-out call saw its token cancelled");
        var m = pipeline.GetMetrics();
        m.Delivered.Should().Be(1);
        m.ShouldBeBalanced();
    }

    [Fact]
    public async Task A_null_result_is_dead_lettered_without_retries_unless_nulls_are_allowed()
    {
        var time = new FakeTimeProvider(Start);
        var delivered = new List<string?>();
        await using var strict = PipelineBuilder.Create<int>("strict", Options(time))
            .Transform("maybe-null", x => x == 0 ? null! : x.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Sink("s", _ => { })
            .Build();
        await using var lenient = PipelineBuilder.Create<int>("lenient", Options(time))
            .Transform("maybe-null", x => x == 0 ? null : x.ToString(System.Globalization.CultureInfo.InvariantCulture), new StageOptions { AllowNullResult = true })
            .Sink("s", s => delivered.Add(s))
            .Build();

        await strict.WriteAsync(0);
        await lenient.WriteAsync(0);
        await strict.CompleteAsync();
        await lenient.CompleteAsync();

        var entry = (await strict.DeadLetters.ListAsync()).Should().ContainSingle().Subject;
        entry.ExceptionType.Should().Be(typeof(StageResultNullException).FullName);
        entry.Attempts.Should().Be(1);
        delivered.Should().Equal(new string?[] { null });
    }

    [Fact]
    public async Task A_fan_out_that_throws_half_way_emits_nothing_and_is_retried_whole()
    {
        var time = new FakeTimeProvider(Start);
        var delivered = new List<int>();
        var calls = 0;
        await using var pipeline = PipelineBuilder.Create<int>("fan", Options(time))
            .FanOut("explode", x => Explode(x, Interlocked.Increment(ref calls) == 1))
            .Sink("s", y => delivered.Add(y))
            .Build();

        await pipeline.WriteAsync(3);
        await time.DriveUntil(pipeline.CompleteAsync(), TimeSpan.FromMilliseconds(50));

        delivered.Should().Equal(30, 31, 32);
        pipeline.GetMetrics().ShouldBeBalanced();

        static IEnumerable<int> Explode(int x, bool failHalfWay)
        {
            for (var i = 0; i < x; i++)
            {
                if (failHalfWay && i == 2)
                {
                    throw new IOException("half-way");
                }

                yield return (x * 10) + i;
            }
        }
    }

    [Fact]
    public async Task A_replay_that_fails_again_keeps_the_entry_re_recorded_and_does_not_count_it_as_replayed()
    {
        var time = new FakeTimeProvider(Start);
        var options = Options(time);
        options.Retry = RetryOptions.None;
        await using var pipeline = PipelineBuilder.Create<int>("replay-fails", options)
            .Transform("always-down", int (x) => throw new IOException($"down #{x}"))
            .Sink("s", _ => { })
            .Build();

        await pipeline.WriteAsync(1);
        await TestSupport.Eventually(() => pipeline.GetMetrics().DeadLettered == 1, "dead letter");
        var before = (await pipeline.DeadLetters.ListAsync()).Single();
        time.Advance(TimeSpan.FromMinutes(5));

        var result = await pipeline.ReplayDeadLettersAsync();

        result.Should().Be(new ReplayResult(0, 1, 0));
        var after = (await pipeline.DeadLetters.ListAsync()).Should().ContainSingle().Subject;
        after.Id.Should().Be(before.Id);
        after.Attempts.Should().Be(2);
        after.Replays.Should().Be(1);
        after.FirstFailure.Should().Be(before.FirstFailure);
        after.LastFailure.Should().Be(Start.AddMinutes(5));
        await pipeline.CompleteAsync();
        pipeline.GetMetrics().ShouldBeBalanced();
    }

    [Fact]
    public async Task Replay_is_limited_to_the_requested_count_oldest_first()
    {
        var options = new PipelineOptions { Retry = RetryOptions.None };
        var broken = true;
        var delivered = new ConcurrentQueue<int>();
        await using var pipeline = PipelineBuilder.Create<int>("replay-limit", options)
            .Transform("t", x => Volatile.Read(ref broken) ? throw new IOException("down") : x)
            .Sink("s", x => delivered.Enqueue(x))
            .Build();
        for (var i = 1; i <= 4; i++)
        {
            await pipeline.WriteAsync(i);
        }

        await TestSupport.Eventually(() => pipeline.GetMetrics().DeadLettered == 4, "dead letters");
        Volatile.Write(ref broken, false);

        (await pipeline.ReplayDeadLettersAsync(maxCount: 2)).Replayed.Should().Be(2);

        await TestSupport.Eventually(() => delivered.Count == 2, "two delivered");
        delivered.Should().Equal(1, 2);
        (await pipeline.DeadLetters.CountAsync()).Should().Be(2);
    }

    [Theory]
    [InlineData("a stage the pipeline does not have")]
    [InlineData("an event of another type than the stage takes")]
    public async Task A_replay_skips_an_entry_it_cannot_re_enter_and_keeps_it(string entryHas)
    {
        var store = new InMemoryDeadLetterStore();
        var entry = entryHas == "a stage the pipeline does not have"
            ? new DeadLetterEntry { Id = "d1", Pipeline = "skips", Stage = "gone", Event = 1, Attempts = 1 }
            : new DeadLetterEntry { Id = "d1", Pipeline = "skips", Stage = "s", Event = "not an int", Attempts = 1 };
        await store.AddAsync(entry);
        var delivered = new ConcurrentQueue<int>();
        await using var pipeline = PipelineBuilder.Create<int>("skips", o => o.DeadLetterStore = store)
            .Sink("s", x => delivered.Enqueue(x))
            .Build();

        var result = await pipeline.ReplayDeadLettersAsync();

        result.Should().Be(new ReplayResult(0, 0, 1));
        (await store.ListAsync()).Should().ContainSingle().Which.Should().Be(entry, "a skipped entry stays as it was");
        await pipeline.CompleteAsync();
        delivered.Should().BeEmpty();
        var m = pipeline.GetMetrics();
        m.Replayed.Should().Be(0);
        m.ShouldBeBalanced();
    }

    [Fact]
    public async Task A_replay_skips_the_entries_another_replay_of_the_pipeline_has_in_flight()
    {
        var store = new InMemoryDeadLetterStore();
        await store.AddAsync(new DeadLetterEntry { Id = "d1", Pipeline = "twice", Stage = "s", Event = 7, Attempts = 1 });
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var delivered = new ConcurrentQueue<int>();
        await using var pipeline = PipelineBuilder.Create<int>("twice", o => o.DeadLetterStore = store)
            .Sink("s", async (int x, CancellationToken ct) =>
            {
                entered.TrySetResult();
                await release.Task.WaitAsync(ct);
                delivered.Enqueue(x);
            })
            .Build();

        var first = pipeline.ReplayDeadLettersAsync();
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the first replay's event is in the sink
        var second = await pipeline.ReplayDeadLettersAsync();

        second.Should().Be(new ReplayResult(0, 0, 1), "the entry is being replayed already");
        release.SetResult();
        (await first.WaitAsync(TimeSpan.FromSeconds(10))).Should().Be(new ReplayResult(1, 0, 0));
        await pipeline.CompleteAsync();
        delivered.Should().Equal(7);
        (await store.CountAsync()).Should().Be(0);
        pipeline.GetMetrics().Replayed.Should().Be(1);
    }

    [Fact]
    public async Task A_dead_letter_store_that_throws_faults_the_completion_with_its_exception()
    {
        var failure = new InvalidOperationException("the store is down");
        var store = new ObservedDeadLetterStore(new InMemoryDeadLetterStore()) { FailAdd = _ => failure };
        var pipeline = PipelineBuilder.Create<int>("faulted", o => { o.DeadLetterStore = store; o.Retry = RetryOptions.None; })
            .Transform("fail", int (x) => throw new IOException("down"))
            .Sink("s", _ => { })
            .Build();

        pipeline.Ingest(new[] { 1 });
        var completion = () => pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(10));

        (await completion.Should().ThrowAsync<InvalidOperationException>()).Which.Should().BeSameAs(failure);
        pipeline.Completion.IsFaulted.Should().BeTrue("a failure of the pipeline itself, not a cancellation");
        var complete = () => pipeline.CompleteAsync();
        (await complete.Should().ThrowAsync<InvalidOperationException>()).Which.Should().BeSameAs(failure, "CompleteAsync reports the fault too");
        await pipeline.DisposeAsync();
    }

    [Fact]
    public async Task A_dead_letter_store_that_throws_faults_the_completion_even_with_events_still_in_flight()
    {
        var failure = new InvalidOperationException("the store is down");
        var store = new ObservedDeadLetterStore(new InMemoryDeadLetterStore()) { FailAdd = _ => failure };
        var pipeline = PipelineBuilder.Create<int>("faulted-busy", o => { o.DeadLetterStore = store; o.Retry = RetryOptions.None; o.BatchSize = 1; })
            .Transform("fail", int (x) => x == 0 ? throw new IOException("down") : x)
            .Sink("s", _ => { })
            .Build();

        pipeline.Ingest(Enumerable.Range(0, 1000).ToArray()); // one event per batch: the first fails, 999 wait behind it
        var completion = () => pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(10));

        (await completion.Should().ThrowAsync<InvalidOperationException>()).Which.Should().BeSameAs(failure);
        await pipeline.DisposeAsync();
    }

    [Fact]
    public async Task Replay_on_a_completed_pipeline_fails_with_a_clear_error()
    {
        await using var pipeline = PipelineBuilder.Create<int>("done").Sink("s", _ => { }).Build();
        await pipeline.CompleteAsync();

        var act = () => pipeline.ReplayDeadLettersAsync();

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*'done' has completed*");
    }
}
