using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace EventStream.AspNetCore.HealthChecks;

/// <summary>
/// The health of one event pipeline: unhealthy (the registration's failure status) once its completion has completed,
/// degraded while its backlog, dead letters or watermark lag pass the configured marks; the figures go in the data.
/// </summary>
/// <typeparam name="T">The pipeline's input event type.</typeparam>
internal sealed class EventPipelineHealthCheck<T> : IHealthCheck
{
    private readonly IEventPipeline<T> _pipeline;
    private readonly long _backpressureThreshold;
    private readonly EventPipelineHealthCheckOptions _options;
    private readonly IHostApplicationLifetime? _lifetime;

    public EventPipelineHealthCheck(IEventPipeline<T> pipeline, long backpressureThreshold, EventPipelineHealthCheckOptions options, IHostApplicationLifetime? lifetime)
    {
        _pipeline = pipeline;
        _backpressureThreshold = backpressureThreshold;
        _options = options;
        _lifetime = lifetime;
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var name = _pipeline.Name;
        var data = new Dictionary<string, object> { ["pipeline"] = name };
        var completion = _pipeline.Completion;
        if (completion.IsCompleted)
        {
            return Stopped(context, name, completion, data);
        }

        var metrics = _pipeline.GetMetrics();
        var status = HealthStatus.Healthy;
        var reasons = new List<string>();
        Exception? exception = null;

        var inFlightLimit = Math.Max(1, (long)Math.Ceiling(_options.InFlightShare * _backpressureThreshold));
        data["inFlight"] = metrics.InFlight;
        data["backpressureThreshold"] = _backpressureThreshold;
        data["inFlightLimit"] = inFlightLimit;
        if (metrics.InFlight >= inFlightLimit)
        {
            status = HealthStatus.Degraded;
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"{metrics.InFlight} events in flight, at or past {inFlightLimit} ({_options.InFlightShare:0.##} of the backpressure threshold {_backpressureThreshold})"));
        }

        try
        {
            var store = _pipeline.DeadLetters;
            var full = store.IsFull;
            data["deadLetterStoreFull"] = full;
            if (full)
            {
                status = Worst(status, HealthStatus.Degraded);
                reasons.Add("the dead-letter store is full: ingest is refused until dead letters are replayed or removed");
            }

            if (_options.CountDeadLetters)
            {
                var count = await CountAsync(store, name, cancellationToken).ConfigureAwait(false);
                data["deadLetters"] = count;
                if (_options.DeadLetterCapacity is { } capacity)
                {
                    var limit = Math.Max(1, (long)Math.Ceiling(_options.DeadLetterShare * capacity));
                    data["deadLetterCapacity"] = capacity;
                    data["deadLetterLimit"] = limit;
                    if (count >= limit)
                    {
                        status = Worst(status, HealthStatus.Degraded);
                        reasons.Add(string.Create(CultureInfo.InvariantCulture, $"{count} dead letters, at or past {limit} ({_options.DeadLetterShare:0.##} of the capacity {capacity})"));
                    }
                }
            }
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // The probe's own cancellation (the registration's timeout) is left to the health-check service; anything
            // else from the store (Redis down, a timeout of the count) is the store's failure.
            exception = ex;
            status = Worst(status, _options.DeadLetterStoreFailureStatus);
            data["deadLetterStoreError"] = ex.GetType().Name;
            reasons.Add($"the dead-letter store failed: {ex.Message}");
        }

        if (metrics.WatermarkLag is { } lag)
        {
            data["watermarkLag"] = lag;
            if (_options.MaxWatermarkLag is { } max && lag > max)
            {
                status = Worst(status, HealthStatus.Degraded);
                reasons.Add(string.Create(CultureInfo.InvariantCulture, $"the watermark trails the clock by {lag}, more than {max}"));
            }
        }

        var description = reasons.Count == 0
            ? string.Create(CultureInfo.InvariantCulture, $"Event pipeline '{name}' is running: {metrics.InFlight} events in flight.")
            : string.Create(CultureInfo.InvariantCulture, $"Event pipeline '{name}' is {status.ToString().ToLowerInvariant()}: {string.Join("; ", reasons)}.");
        return new HealthCheckResult(status, description, exception, data);
    }

    private HealthCheckResult Stopped(HealthCheckContext context, string name, Task completion, Dictionary<string, object> data)
    {
        data["completion"] = completion.Status.ToString();
        var stopping = _lifetime?.ApplicationStopping.IsCancellationRequested == true ? " (the host is stopping)" : string.Empty;
        Exception? exception = null;
        string description;
        if (completion.IsFaulted)
        {
            var errors = completion.Exception!.Flatten().InnerExceptions;
            exception = errors.Count == 1 ? errors[0] : completion.Exception;
            description = $"Event pipeline '{name}' has faulted{stopping}: {errors[0].Message}";
        }
        else if (completion.IsCanceled)
        {
            description = $"Event pipeline '{name}' was cancelled{stopping}; it processes no more events.";
        }
        else
        {
            description = $"Event pipeline '{name}' has completed{stopping}; it processes no more events.";
        }

        return new HealthCheckResult(context.Registration.FailureStatus, description, exception, data);
    }

    private async ValueTask<long> CountAsync(IDeadLetterStore store, string name, CancellationToken cancellationToken)
    {
        var timeout = _options.DeadLetterCountTimeout;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var count = store.CountAsync(name, cts.Token);
        if (count.IsCompletedSuccessfully)
        {
            return count.Result;
        }

        try
        {
            // WaitAsync too: a store that ignores the token must not hold the probe past the timeout.
            return await count.AsTask().WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"The dead-letter store did not count the dead letters of '{name}' within {timeout}."), ex);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"The dead-letter store did not count the dead letters of '{name}' within {timeout}."), ex);
        }
    }

    private static HealthStatus Worst(HealthStatus a, HealthStatus b) => a < b ? a : b;
}
