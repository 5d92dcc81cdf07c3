using EventStream;
using Microsoft.AspNetCore.Builder;

/// <summary>The HTTP door of a pipeline of <see cref="PipelineEvent"/>s, with the application's own rules on top.</summary>
public static class TrackingDoor
{
    public static void MapTracking(this WebApplication app) =>
        app.MapEventIngest<PipelineEvent>("/events", door =>
            {
                door.MaxBodyBytes = 1024 * 1024;
                door.Validate = e => e.Time > DateTimeOffset.UtcNow.AddSeconds(10) ? "timestamp is more than 10 s in the future" : null;
            })
            .RequireRateLimiting("per-client"); // the app's own policies apply: rate limits, authorization, filters
}
