// The main EventStream sample: clickstream traffic for four web sites flows through a pipeline on the in-memory
// backend, which counts page views per URL and minute while a dashboard shows the pipeline's metrics every second.
// At the end the pipeline drains, the dead letters are inspected, the bug that caused most of them is "fixed", they
// are replayed, and the accounting is checked: every accepted event must be delivered, filtered or dead-lettered.
using System.Text;
using EventStream;
using EventStream.Samples.Clickstream;

var options = SampleOptions.Parse(args, out var error);
if (options is null)
{
    Console.Error.WriteLine($"error: {error}{Environment.NewLine}");
    Console.Error.WriteLine(SampleOptions.Usage);
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(SampleOptions.Usage);
    return 0;
}

Console.OutputEncoding = Encoding.UTF8;

// The first Ctrl+C stops the traffic (the pipeline still drains and the summary is printed); a second one ends the process.
var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = !stop.IsCancellationRequested;
    stop.Cancel();
};

var parser = new PageViewParser();
var geo = new GeoService();
var counts = new UrlCounts();

// parse → drop-bots → geo → counts. The two synchronous stages run chained in one loop behind the input queue; the
// async geo lookup (four calls in flight, order kept) gets a bounded queue and a worker of its own, and the sink runs
// chained after it. A full queue makes the stage before it wait, so a slow stage slows the producer instead of piling
// up events.
await using var pipeline = PipelineBuilder.Create<PipelineEvent>("clickstream", o =>
    {
        o.Capacity = 10_000;
        o.BatchSize = 512;
        // Transient failures are retried with exponential back-off and jitter; permanent ones (FormatException and
        // other bad-input errors) go to the dead-letter store at once.
        o.Retry = new RetryOptions { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(50) };
    })
    .Transform("parse", parser.Parse)
    .Filter("drop-bots", view => !BotDetector.IsBot(view.UserAgent))
    .Enrich("geo", geo.EnrichAsync, new StageOptions
    {
        Parallelism = 4,
        // The flaky service gets more attempts than the pipeline's default: 1 % failures, 5 attempts, none lost.
        Retry = new RetryOptions { MaxAttempts = 5, BaseDelay = TimeSpan.FromMilliseconds(50) },
    })
    .Sink("counts", counts.Add)
    .Build();

var clock = TimeProvider.System;
var started = clock.GetTimestamp();
var dashboard = new Dashboard($"EventStream clickstream · in-memory backend · {options.Rate:N0} page views/s offered", options.Duration);
Console.WriteLine($"Generating {options.Rate:N0} page views/s for {options.Duration.TotalSeconds:0.#} s through parse → drop-bots → geo → counts …");

try
{
    // Live phase: the generator writes; the dashboard samples the metrics once a second.
    var traffic = new TrafficGenerator(clock).RunAsync(pipeline, options.Rate, options.Duration, stop.Token);
    using (var ticker = new PeriodicTimer(TimeSpan.FromSeconds(1), clock))
    {
        while (await Task.WhenAny(traffic, ticker.WaitForNextTickAsync().AsTask()) != traffic)
        {
            dashboard.Update(pipeline.GetMetrics(), clock.GetElapsedTime(started), counts);
        }
    }

    await traffic;

    // Drain: wait until nothing is in flight, retries included. The pipeline is not completed yet, because replaying
    // dead letters needs it running.
    await WaitUntilIdleAsync(pipeline);
    dashboard.Final(pipeline.GetMetrics(), clock.GetElapsedTime(started), counts);
}
finally
{
    dashboard.Release();
}

var afterRun = pipeline.GetMetrics();
await ShowDeadLettersAsync(pipeline);

// The "fix": the parser learns the old tracker's field name. Replay re-enters each dead letter at the stage that failed;
// an entry leaves the store only once its event has passed that stage, and one that fails again stays, re-recorded.
Console.WriteLine();
Console.WriteLine("Fix deployed: the parser now reads tracker v1 payloads ('page' instead of 'url'). Replaying the dead letters …");
parser.AcceptTrackerV1 = true;
var replay = await pipeline.ReplayDeadLettersAsync();
await WaitUntilIdleAsync(pipeline); // replayed events still travel on to the sink
var afterReplay = pipeline.GetMetrics();
Console.WriteLine(
    $"  replayed {replay.Replayed:N0}, failed again {replay.FailedAgain:N0}, skipped {replay.Skipped:N0}: " +
    $"{afterReplay.Delivered - afterRun.Delivered:N0} page views recovered into the counts, " +
    $"{afterReplay.Filtered - afterRun.Filtered:N0} filtered as bots");
var remaining = await pipeline.DeadLetters.CountAsync(pipeline.Name);
Console.WriteLine($"  {remaining:N0} dead letters remain: corrupt payloads that no parser fix can read");

await pipeline.CompleteAsync();
var final = pipeline.GetMetrics();

// The invariant: every accepted event ends exactly once — delivered to the sink, filtered, or dead-lettered. After a
// replay, an entry that got through counts as delivered or filtered and has left the store, so the dead letters that
// still count are the ones in the store.
Console.WriteLine();
Console.WriteLine("Accounting: accepted = delivered + filtered + dead-lettered");
var checks = new[]
{
    Check("after the run   ", afterRun.Accepted, afterRun.Delivered, afterRun.Filtered, afterRun.DeadLettered),
    Check("after the replay", final.Accepted, final.Delivered, final.Filtered, remaining),
    Report($"  the per-URL counts add up to the delivered count: {counts.Total:N0}", counts.Total == final.Delivered),
};
return checks.All(ok => ok) ? 0 : 1;

static bool Check(string when, long accepted, long delivered, long filtered, long deadLettered) => Report(
    $"  {when}  {accepted:N0} = {delivered:N0} + {filtered:N0} + {deadLettered:N0}",
    accepted == delivered + filtered + deadLettered);

static bool Report(string line, bool holds)
{
    Console.WriteLine($"{line}  {(holds ? "✓ holds" : "✗ DOES NOT HOLD")}");
    return holds;
}

// Waits until every admitted event is delivered, filtered or dead-lettered (retries included) — but not forever.
static async Task WaitUntilIdleAsync(IEventPipeline<PipelineEvent> pipeline)
{
    var deadline = DateTime.UtcNow.AddMinutes(1);
    while (pipeline.GetMetrics().InFlight > 0)
    {
        if (DateTime.UtcNow > deadline)
        {
            Console.WriteLine($"The pipeline did not drain within a minute: {pipeline.GetMetrics().InFlight:N0} events still in flight.");
            return;
        }

        await Task.Delay(20);
    }
}

// How many dead letters, why (grouped by stage and error), and three examples with their events.
static async Task ShowDeadLettersAsync(IEventPipeline<PipelineEvent> pipeline)
{
    var count = await pipeline.DeadLetters.CountAsync(pipeline.Name);
    var entries = await pipeline.DeadLetters.ListAsync(pipeline.Name, limit: 100_000);
    Console.WriteLine();
    Console.WriteLine($"Dead letters: {count:N0}");
    foreach (var group in entries.GroupBy(e => (e.Stage, e.ExceptionType, e.Message)).OrderByDescending(g => g.Count()))
    {
        Console.WriteLine($"  {group.Count(),7:N0} × stage '{group.Key.Stage}': {group.Key.ExceptionType}: {group.Key.Message}");
    }

    // One example of each kind of failure first, then more of the commonest.
    foreach (var entry in entries.DistinctBy(e => (e.Stage, e.Message)).Concat(entries).Distinct().Take(3))
    {
        var data = entry.Event is PipelineEvent e ? $"event {e.Id} from {e.Source}: {e.Data.GetRawText()}" : $"{entry.Event}";
        var attempts = entry.Attempts == 1 ? "permanent, not retried" : $"after {entry.Attempts} attempts";
        Console.WriteLine($"  e.g. stage '{entry.Stage}', {entry.ExceptionType} ({attempts}): {entry.Message}");
        Console.WriteLine($"       {(data.Length > 110 ? data[..109] + "…" : data)}");
    }
}
