using System.Globalization;

namespace EventStream.Cli;

/// <summary>
/// The results whose value is a double that is not finite: a sum (or the sum under an average) beyond ±1.8E+308,
/// which JSON cannot hold and the output writes as <c>"value":null</c>. The summary says how many, over how many keys,
/// and names the first, so a null value is not the only sign.
/// </summary>
internal sealed class Overflows
{
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private string? _first;

    public long Results { get; private set; }

    /// <summary>Counts the result if its value overflowed.</summary>
    public void Observe<TResult>(string key, long start, long end, TResult value)
    {
        if (value is double d && !double.IsFinite(d))
        {
            Results++;
            _keys.Add(key);
            _first ??= string.Create(CultureInfo.InvariantCulture, $"key '{WindowCommand.OneLine(key)}' window [{start}, {end})");
        }
    }

    /// <summary>The warning to append to a summary line (empty when nothing overflowed).</summary>
    public string Warning => Results == 0
        ? string.Empty
        : string.Create(CultureInfo.InvariantCulture, $"; warning: {Results} results ({_keys.Count} keys) overflowed a double (a sum beyond ±1.8E+308) and were written as \"value\":null, the first {_first}");
}
