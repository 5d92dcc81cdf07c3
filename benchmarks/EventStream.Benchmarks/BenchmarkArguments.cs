using System.Globalization;

namespace EventStream.Benchmarks;

/// <summary>
/// Reads a benchmark command's <c>--name value</c> options one at a time, the one parser of the Redis cases: an unknown
/// option or a bad value is a <see cref="FormatException"/> that names it (with the usage line).
/// </summary>
public sealed class BenchmarkArguments(string[] args, string usage)
{
    private int _at = -1;

    /// <summary>Moves to the next option; <see langword="false"/> at the end.</summary>
    public bool Next(out string name)
    {
        _at++;
        name = _at < args.Length ? args[_at] : string.Empty;
        return _at < args.Length;
    }

    /// <summary>The option's value.</summary>
    public string Value() => _at + 1 < args.Length ? args[++_at] : throw new FormatException($"{args[_at]} needs a value");

    /// <summary>The option's value, a positive integer.</summary>
    public int Count()
    {
        var name = args[_at];
        var value = Value();
        return int.TryParse(value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : throw new FormatException($"{name}: a positive integer, not '{value}'");
    }

    /// <summary>The error for an option no case knows.</summary>
    public FormatException Unknown() => new($"unknown argument '{args[_at]}'. Usage: {usage}");
}
