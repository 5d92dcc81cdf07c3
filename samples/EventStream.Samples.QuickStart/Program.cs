using EventStream;

var counts = new Dictionary<string, int>();
await using var pipeline = PipelineBuilder.Create<string>("quick-start")
    .Transform("normalise", url => url.Trim().ToLowerInvariant())
    .Filter("no-health-checks", url => url != "/health")
    .Enrich("section", async (url, ct) => { await Task.Yield(); return url.Split('/')[1]; })
    .Sink("count", section => counts[section] = counts.GetValueOrDefault(section) + 1)
    .Build();

foreach (var url in new[] { "/Home", "/docs/start", "/health", "/docs/api", " /home " })
    await pipeline.WriteAsync(url); // waits while the pipeline is full: backpressure
await pipeline.CompleteAsync();     // drains every stage, retries included

Console.WriteLine(string.Join(", ", counts.Select(c => $"{c.Key}={c.Value}"))); // home=2, docs=2
