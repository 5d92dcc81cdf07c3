using System.Globalization;

namespace EventStream.Redis.Partitions;

/// <summary>Redis stream entry ids (<c>ms-seq</c>) as ordered values.</summary>
internal static class StreamIds
{
    /// <summary>Compares two ids as Redis orders them.</summary>
    public static int Compare(string a, string b) => Parse(a).CompareTo(Parse(b));

    /// <summary>The millisecond part of an id.</summary>
    public static long Millis(string id) => (long)Parse(id).Ms;

    /// <summary>The smaller of two ids.</summary>
    public static string Min(string a, string b) => Compare(a, b) <= 0 ? a : b;

    private static (ulong Ms, ulong Seq) Parse(string id)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return dash < 0
            ? (ulong.Parse(id, NumberStyles.None, CultureInfo.InvariantCulture), 0)
            : (ulong.Parse(id.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture), ulong.Parse(id.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture));
    }
}
