using EventStream;

var counts = new Dictionary<string, int>();
await using var pipeline = PipelineBuilder.Create<string>("quick-start")
    .Transform("normalise", url => url.Trim().ToLowerInvariant())
    .Filter("no-health-checks", url => url != "/health")
    .Enrich("lookup", async (url, ct) => { await Task.Delay(1, ct); return (Url: url, Section: url.Split('/')[1]); })
    .Sink("count", page => counts[page.Section] = counts.GetValueOrDefault(page.Section) + 1)
    .Build();

foreach (var url in new[] { "/Home", "/docs/start", "/health", "/docs/api", " /home " })
{
    await pipeline.WriteAsync(url); // waits while the pipeline is full: backpressure
}

await pipeline.CompleteAsync(); // drains every stage, retries included
Console.WriteLine(string.Join(", ", counts.Select(c => $"{c.Key}={c.Value}")));  // home=2, docs=2
var m = pipeline.GetMetrics();
Console.WriteLine($"accepted {m.Accepted} = delivered {m.Delivered} + filtered {m.Filtered} + dead-lettered {m.DeadLettered}");
