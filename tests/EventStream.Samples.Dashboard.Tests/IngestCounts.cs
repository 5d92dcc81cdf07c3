using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using EventStream.AspNetCore;
using Microsoft.Extensions.DependencyInjection;

namespace EventStream.Samples.Dashboard.Tests;

/// <summary>
/// The door's element counter (<see cref="EventIngestMeter.Elements"/>) of one server, by outcome: every element read
/// from a body is <c>admitted</c>, <c>dead_lettered</c> or <c>refused</c>. Only that server's meter is listened to (its
/// meter factory is the meter's scope), so tests running beside it count nothing here.
/// </summary>
public sealed class IngestCounts : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _counts = new();

    public IngestCounts(DashboardServer server)
    {
        var factory = server.App.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == EventIngestMeter.Elements && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "outcome" && tag.Value is string outcome)
                {
                    _counts.AddOrUpdate(outcome, value, (_, sum) => sum + value);
                }
            }
        });
        _listener.Start();
    }

    /// <summary>The elements counted with this outcome.</summary>
    public long Of(string outcome) => _counts.GetValueOrDefault(outcome);

    /// <summary>Every element counted.</summary>
    public long All => _counts.Values.Sum();

    public void Dispose() => _listener.Dispose();
}
