using EventStream;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

/// <summary>EventStream's spans and instruments into the application's OpenTelemetry set-up (add your exporter).</summary>
public static class Telemetry
{
    public static IServiceCollection AddEventStreamTelemetry(this IServiceCollection services) => services
        .AddOpenTelemetry()
        .WithTracing(tracing => tracing.AddSource(EventStreamTracing.ActivitySourceName)) // "EventStream"
        .WithMetrics(metrics => metrics.AddMeter(EventStreamMeter.MeterName))             // "EventStream"
        .Services;
}
