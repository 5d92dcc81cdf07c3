using EventStream;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddSingleton<PageViewLog>();
builder.Services.AddEventPipeline<PageView>("page-views", (pipeline, services) => pipeline
        .Transform("normalise", view => view with { Url = view.Url.Trim().ToLowerInvariant() })
        .Filter("no-health-checks", view => view.Url != "/health")
        .Sink("log", services.GetRequiredService<PageViewLog>().SaveAsync) // a Task-returning method
        .Build())
    .ConfigureOptions(options => options.BackpressureThreshold = 50_000); // or bind "Pipelines:page-views"

var app = builder.Build();

// A site's tracking script posts a batch of page views. Put authentication in front of anything that reads or
// changes stored data (dead letters, replay); this door only lets events in.
app.MapPost("/events", (PageView[] views, IEventPipeline<PageView> pipeline, HttpResponse response) =>
{
    try
    {
        pipeline.Ingest(views); // the whole batch, or an exception: it never waits
        return Results.Accepted(value: new { accepted = views.Length });
    }
    catch (BackpressureException full) // too much in flight: the client slows down and retries
    {
        response.Headers.RetryAfter = Math.Ceiling(full.RetryAfter.TotalSeconds).ToString("0");
        return Results.Problem("The pipeline is full; retry later.", statusCode: StatusCodes.Status429TooManyRequests);
    }
    catch (DeadLetterStoreFullException) // retrying does not help until dead letters are replayed or removed
    {
        return Results.Problem("The dead-letter store is full.", statusCode: StatusCodes.Status503ServiceUnavailable);
    }
});

app.Run(); // the pipeline starts with the host and drains its events when the host stops

public sealed record PageView(string Site, string Url, string UserId, DateTimeOffset Time);

public sealed class PageViewLog(ILogger<PageViewLog> logger)
{
    public Task SaveAsync(PageView view, CancellationToken cancellationToken)
    {
        logger.LogInformation("Page view: {Site}{Url} by {User}", view.Site, view.Url, view.UserId);
        return Task.CompletedTask; // a real store awaits its database here
    }
}
