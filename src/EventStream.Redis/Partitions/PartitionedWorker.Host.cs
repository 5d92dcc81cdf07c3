using EventStream.Windowing.State;
using System.Text.Json;

namespace EventStream.Redis.Partitions;

/// <summary>The window stage's side of the worker: what it calls, in its own loop, for each partition.</summary>
internal sealed partial class PartitionedWorker<T>
{
    public int Partitions => _owned.Length;

    public JsonSerializerOptions Json { get; }

    public int PartitionOf(ReadOnlySpan<byte> key) => PartitionKeys.PartitionOf(key, _owned.Length);

    public bool Accepts(int partition) => _owned[partition] is { Accepted: true };

    public void Attach(IPartitionedWindow window) => _window = window;

    public void OnWindowed(int partition) => _owned[partition]?.Gather(null, windowed: 1);

    public void OnResult(int partition, string json) => _owned[partition]?.Gather(c => c.AddResult(json), results: 1);

    public void OnLate(int partition, string eventJson, long timestamp, string reason) =>
        _owned[partition]?.Gather(c => c.AddLate(eventJson, string.Empty, reason), late: 1);

    public void OnFiltered(object? item)
    {
        var json = item is null ? "null" : JsonSerializer.Serialize(item, item.GetType(), Json);
        var partition = PartitionOf(System.Text.Encoding.UTF8.GetBytes(json));
        if (Accepts(partition))
        {
            _owned[partition]!.Gather(null, filtered: 1);
        }
    }

    /// <summary>A dead letter of the stages before the window: recorded by the owner of the partition its event maps to.</summary>
    internal void OnDeadLetter(DeadLetterEntry entry, string eventJson)
    {
        // Every worker runs the stages before the window (and the window's key) on every event and meets the same
        // failures: the owner of the event's own partition records it. A failing aggregate is met by the key's owner only.
        var window = _window ?? throw new InvalidOperationException("A partitioned pipeline's dead letters are its stages' own, recorded by the worker once it runs.");
        var partition = (entry.Stage == window.StageName ? window.PartitionOfEvent(entry.Event) : null)
            ?? PartitionOf(System.Text.Encoding.UTF8.GetBytes(eventJson));
        if (!Accepts(partition))
        {
            return; // another worker (or this one, once it has caught up) records it
        }

        _owned[partition]!.Gather(
            c => c.AddDead(
                ("event", eventJson),
                ("pipeline", entry.Pipeline),
                ("stage", entry.Stage),
                ("reason", entry.Reason.ToString()),
                ("exceptionType", entry.ExceptionType ?? string.Empty),
                ("message", entry.Message ?? string.Empty),
                ("attempts", entry.Attempts),
                ("firstFailure", entry.FirstFailure.ToUnixTimeMilliseconds()),
                ("lastFailure", entry.LastFailure.ToUnixTimeMilliseconds())),
            dead: 1);
    }
}
