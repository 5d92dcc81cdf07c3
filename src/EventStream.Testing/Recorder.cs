namespace EventStream.Testing;

/// <summary>What the driver's pipeline let out, in order: the sink's events, each window stage's results, each late output's events.</summary>
internal sealed class Recorder : IPipelineObserver
{
    private readonly Lock _lock = new();
    private readonly List<object?> _delivered = [];
    private readonly Dictionary<string, List<object>> _results = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<object?>> _late = new(StringComparer.Ordinal);

    public void Delivered(string stage, object? item)
    {
        lock (_lock)
        {
            _delivered.Add(item);
        }
    }

    public void WindowResult(string stage, object result)
    {
        lock (_lock)
        {
            Of(_results, stage).Add(result);
        }
    }

    public void LateOutput(string stage, object? item)
    {
        lock (_lock)
        {
            Of(_late, stage).Add(item);
        }
    }

    public List<T> DeliveredAs<T>()
    {
        lock (_lock)
        {
            return _delivered.Cast<T>().ToList();
        }
    }

    public List<object> ResultsOf(string stage)
    {
        lock (_lock)
        {
            return _results.TryGetValue(stage, out var list) ? [.. list] : [];
        }
    }

    public List<object?> LateOutputOf(string stage)
    {
        lock (_lock)
        {
            return _late.TryGetValue(stage, out var list) ? [.. list] : [];
        }
    }

    public long LateOutputCount()
    {
        lock (_lock)
        {
            return _late.Values.Sum(l => (long)l.Count);
        }
    }

    private static List<TItem> Of<TItem>(Dictionary<string, List<TItem>> map, string stage)
    {
        if (!map.TryGetValue(stage, out var list))
        {
            map[stage] = list = [];
        }

        return list;
    }
}
