using System.Collections.Concurrent;
using EventStream;

/// <summary>
/// Where window results go. Keyed by URL and window start, so a result delivered twice (possible after a crash) is
/// stored once, and a later firing of the same window replaces the earlier one.
/// </summary>
public sealed class ViewStore
{
    private readonly ConcurrentDictionary<(string Url, long Start), long> _views = new();

    public Task UpsertAsync(WindowResult<string, long> result, CancellationToken cancellationToken)
    {
        _views[(result.Key, result.Start)] = result.Value;
        return Task.CompletedTask; // a real store awaits its database here
    }

    public long ViewsOf(string url, DateTimeOffset minute) => _views.GetValueOrDefault((url, minute.ToUnixTimeMilliseconds()));
}
