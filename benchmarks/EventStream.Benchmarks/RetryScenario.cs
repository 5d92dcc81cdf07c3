using System.Diagnostics;
using System.Globalization;

namespace EventStream.Benchmarks;

/// <summary>
/// The retry case, measured with a stopwatch: the throughput workload where 10 % of the events that reach the enrich
/// stage (id % 10 == 7) throw on their first two attempts (MaxAttempts 3, 100 ms base delay, no jitter). The 90 % that
/// do not fail must reach the sink at no less than half the failure-free rate, measured to the last of them; every
/// failing event must still arrive, after its third attempt, and nothing may be dead-lettered.
/// </summary>
public static class RetryScenario
{
    public const double Target = 0.5;

    /// <summary>What the enrich stage does with the events that are due to fail (id % 10 == 7).</summary>
    public enum Mode
    {
        /// <summary>Nothing: every event succeeds at once.</summary>
        FailureFree,

        /// <summary>
        /// A control: the handler throws and catches the same two exceptions itself, then succeeds. Same exception cost,
        /// no retry machinery, so it separates the price of the throws from the price of the retry path.
        /// </summary>
        ThrowsCaughtInHandler,

        /// <summary>The case under test: the first two attempts throw out of the handler; the pipeline retries them.</summary>
        Retries,
    }

    public static async Task<bool> RunAsync(int count, int repetitions, double workMicroseconds, TextWriter output)
    {
        var workload = Workload.Create(count);
        var reference = new UrlMinuteCounts();
        Variants.Fused(workload, reference);
        var expected = reference.GetFingerprint();
        long kept = 0, failing = 0;
        foreach (var click in workload.Events)
        {
            var view = workload.Normalise(click);
            if (workload.Keep(view))
            {
                kept++;
                failing += IsFailing(view.Id) ? 1 : 0;
            }
        }

        var nonFailing = kept - failing;
        output.WriteLine(Invariant($"events: {count:N0}; reach the sink: {kept:N0}; fail twice in enrich: {failing:N0} ({100.0 * failing / kept:0.0} % of those reaching enrich); never fail: {nonFailing:N0}"));
        output.WriteLine("retry: MaxAttempts 3, BaseDelay 100 ms, BackoffMultiplier 2, no jitter (retries due 100 ms and 300 ms after the first failure)");
        output.WriteLine(Invariant($"runs: one warm-up of each mode, then {repetitions} rounds of (failure-free, throws caught in handler, retries); medians reported"));
        output.WriteLine(Invariant($"work per enrich call: {(workMicroseconds > 0 ? $"{workMicroseconds:0.##} us of CPU (busy), as a real lookup or parse costs" : "none beyond the in-memory lookup (a micro-benchmark: the cost of the exceptions dominates)")}"));
        output.WriteLine("rate = events that never fail / time from the first write until the last of them reached the sink");
        output.WriteLine();

        var modes = Enum.GetValues<Mode>();
        foreach (var mode in modes)
        {
            await RetryRun.ExecuteAsync(workload, mode, nonFailing, workMicroseconds);
        }

        var results = modes.ToDictionary(m => m, _ => new List<RetryRun.Result>());
        var problems = new List<string>();
        output.WriteLine("| round | mode | last non-failing event at | non-failing events/s | all done at | last failing event at | retries | dead-lettered |");
        output.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        for (var round = 1; round <= repetitions; round++)
        {
            foreach (var mode in modes)
            {
                var result = await RetryRun.ExecuteAsync(workload, mode, nonFailing, workMicroseconds);
                results[mode].Add(result);
                output.WriteLine(Invariant(
                    $"| {round} | {mode} | {result.LastNonFailingMs:0.0} ms | {result.NonFailingRate:N0} | {result.CompletedMs:0.0} ms | {(mode == Mode.Retries ? Invariant($"{result.LastFailingMs:0.0} ms") : "-")} | {result.Metrics.Retries:N0} | {result.Metrics.DeadLettered:N0} |"));
                problems.AddRange(result.Check(expected, kept, failing).Select(p => $"round {round} ({mode}): {p}"));
            }
        }

        var rate = modes.ToDictionary(m => m, m => Median(results[m].Select(r => r.NonFailingRate)));
        var last = modes.ToDictionary(m => m, m => Median(results[m].Select(r => r.LastNonFailingMs)));
        var ratio = rate[Mode.Retries] / rate[Mode.FailureFree];
        output.WriteLine();
        output.WriteLine("| mode (medians) | last non-failing event at | non-failing events/s | vs failure-free |");
        output.WriteLine("|---|---:|---:|---:|");
        foreach (var mode in modes)
        {
            output.WriteLine(Invariant($"| {mode} | {last[mode]:0.0} ms | {rate[mode]:N0} | {rate[mode] / rate[Mode.FailureFree]:0.000} |"));
        }

        output.WriteLine();
        output.WriteLine(Invariant($"ratio Retries / FailureFree: {ratio:0.000} (target >= {Target:0.0}): {(ratio >= Target ? "PASS" : "FAIL")}"));
        output.WriteLine(Invariant($"the throws alone (ThrowsCaughtInHandler, {2 * failing:N0} throws, no retry machinery) already reach only {rate[Mode.ThrowsCaughtInHandler] / rate[Mode.FailureFree]:0.000} of the failure-free rate; the retry path itself costs {(last[Mode.Retries] - last[Mode.ThrowsCaughtInHandler]) * 1000 / (2.0 * failing):0.0} us per retry on top ({last[Mode.Retries] - last[Mode.ThrowsCaughtInHandler]:0} ms before the last non-failing event)"));
        var ok = problems.Count == 0;
        output.WriteLine(ok
            ? Invariant($"correctness: PASS - every run delivered all {kept:N0} events exactly once with the fused loop's counts; in every Retries run each failing event arrived after its 3rd attempt, Retries = {2 * failing:N0}, DeadLettered = 0")
            : "correctness: FAIL\n  " + string.Join("\n  ", problems));
        return ok && ratio >= Target;
    }

    private static bool IsFailing(int id) => id % 10 == 7;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>One pipeline run in one mode, and what its sink saw.</summary>
    private sealed class RetryRun
    {
        private readonly Workload _workload;
        private readonly Mode _mode;
        private readonly long _nonFailing;
        private readonly int[] _attempts;
        private readonly byte[] _deliveries;
        private readonly UrlMinuteCounts _counts = new();
        private long _start;
        private long _nonFailingDelivered;
        private long _failingDelivered;
        private long _arrivedEarly;
        private long _duplicates;
        private long _lastNonFailingAt;
        private long _lastFailingAt;

        private readonly long _workTicks;

        private RetryRun(Workload workload, Mode mode, long nonFailing, double workMicroseconds)
        {
            _workTicks = (long)(workMicroseconds * Stopwatch.Frequency / 1_000_000);
            _workload = workload;
            _mode = mode;
            _nonFailing = nonFailing;
            _attempts = new int[workload.Events.Length];
            _deliveries = new byte[workload.Events.Length];
        }

        public static async Task<Result> ExecuteAsync(Workload workload, Mode mode, long nonFailing, double workMicroseconds)
        {
            var run = new RetryRun(workload, mode, nonFailing, workMicroseconds);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var retry = new RetryOptions
            {
                MaxAttempts = 3,
                BaseDelay = TimeSpan.FromMilliseconds(100),
                UseJitter = false,
                ShouldRetry = _ => true,
            };
            var pipeline = PipelineBuilder.Create<ClickEvent>("clicks-retry", o =>
                {
                    o.Capacity = Variants.Capacity;
                    o.BatchSize = Variants.BatchSize;
                })
                .Transform("normalise", workload.Normalise)
                .Filter("drop-bots", workload.Keep)
                .Enrich("region", run.Enrich, new StageOptions { Retry = retry })
                .Sink("count", run.Sink)
                .Build();
            await using (pipeline)
            {
                run._start = Stopwatch.GetTimestamp();
                var events = workload.Events.AsMemory();
                for (var offset = 0; offset < events.Length; offset += Variants.ProducerChunk)
                {
                    await pipeline.WriteBatchAsync(events.Slice(offset, Math.Min(Variants.ProducerChunk, events.Length - offset)));
                }

                await pipeline.CompleteAsync();
                var completed = Stopwatch.GetElapsedTime(run._start).TotalMilliseconds;
                return new Result(run, pipeline.GetMetrics(), completed);
            }
        }

        private ValueTask<EnrichedView> Enrich(PageView view, CancellationToken cancellationToken)
        {
            if (_workTicks > 0)
            {
                // Every call does the work, failing or not, as a real call would before it fails.
                var until = Stopwatch.GetTimestamp() + _workTicks;
                while (Stopwatch.GetTimestamp() < until)
                {
                }
            }

            if (_mode != Mode.FailureFree && IsFailing(view.Id))
            {
                if (_mode == Mode.Retries)
                {
                    if (++_attempts[view.Id] <= 2)
                    {
                        throw new TimeoutException("Simulated transient lookup failure.");
                    }
                }
                else
                {
                    for (; _attempts[view.Id] < 2; _attempts[view.Id]++)
                    {
                        try
                        {
                            throw new TimeoutException("Simulated transient lookup failure.");
                        }
                        catch (TimeoutException)
                        {
                        }
                    }

                    _attempts[view.Id]++;
                }
            }

            return _workload.Enrich(view, cancellationToken);
        }

        private void Sink(EnrichedView view)
        {
            _counts.Add(view);
            if (++_deliveries[view.Id] > 1)
            {
                _duplicates++;
            }

            if (IsFailing(view.Id))
            {
                _failingDelivered++;
                _lastFailingAt = Stopwatch.GetTimestamp();
                if (_mode != Mode.FailureFree && _attempts[view.Id] != 3)
                {
                    _arrivedEarly++;
                }
            }
            else if (++_nonFailingDelivered == _nonFailing)
            {
                _lastNonFailingAt = Stopwatch.GetTimestamp();
            }
        }

        public sealed class Result
        {
            private readonly RetryRun _run;

            public Result(RetryRun run, PipelineMetrics metrics, double completedMs)
            {
                _run = run;
                Metrics = metrics;
                CompletedMs = completedMs;
                LastNonFailingMs = Ms(run._lastNonFailingAt);
                LastFailingMs = Ms(run._lastFailingAt);
                NonFailingRate = run._nonFailing / (LastNonFailingMs / 1000);
            }

            public PipelineMetrics Metrics { get; }

            public double CompletedMs { get; }

            public double LastNonFailingMs { get; }

            public double LastFailingMs { get; }

            public double NonFailingRate { get; }

            public IEnumerable<string> Check(UrlMinuteCounts.Fingerprint expected, long kept, long failing)
            {
                var actual = _run._counts.GetFingerprint();
                if (actual != expected)
                {
                    yield return $"sink counted {actual}, the fused loop {expected}";
                }

                if (Metrics.Delivered != kept || Metrics.DeadLettered != 0 || Metrics.Filtered + kept != _run._workload.Events.Length)
                {
                    yield return $"metrics Delivered {Metrics.Delivered} (expected {kept}), Filtered {Metrics.Filtered}, DeadLettered {Metrics.DeadLettered} (expected 0)";
                }

                if (_run._nonFailingDelivered != kept - failing || _run._failingDelivered != failing || _run._duplicates != 0)
                {
                    yield return $"non-failing delivered {_run._nonFailingDelivered}, failing delivered {_run._failingDelivered} (expected {failing}), duplicates {_run._duplicates}";
                }

                var expectedRetries = _run._mode == Mode.Retries ? 2 * failing : 0;
                if (_run._arrivedEarly != 0 || Metrics.Retries != expectedRetries)
                {
                    yield return $"{_run._arrivedEarly} failing events arrived before their 3rd attempt; Retries {Metrics.Retries} (expected {expectedRetries})";
                }
            }

            private double Ms(long at) => at == 0 ? double.NaN : Stopwatch.GetElapsedTime(_run._start, at).TotalMilliseconds;
        }
    }
}
