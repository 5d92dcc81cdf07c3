using System.Globalization;
using System.Text;

namespace EventStream.Redis.Partitions;

/// <summary>
/// A position in a partitioned computation's results: the id of the last entry read from each partition's results
/// stream, written compactly, so it fits an SSE <c>id</c> and a <c>Last-Event-ID</c> header. The text is
/// <c>r{base}.{p0}.{p1}…</c>, one token per partition: <c>base</c> is the smallest millisecond part among the ids (base
/// 36), and each token is the id's millisecond part less the base (base 36), followed by <c>-{seq}</c> (base 36) when its
/// sequence is not 0; an empty token is "nothing read yet" (<c>0-0</c>). Sixteen partitions whose last results lie within
/// an hour of one another take about a hundred characters.
/// </summary>
internal sealed class ResultsCursor
{
    private const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";
    private readonly (ulong Ms, ulong Seq)[] _ids;

    private ResultsCursor((ulong Ms, ulong Seq)[] ids) => _ids = ids;

    /// <summary>Gets the number of partitions.</summary>
    public int Partitions => _ids.Length;

    /// <summary>A cursor before every entry of every partition.</summary>
    public static ResultsCursor Start(int partitions) => new(new (ulong, ulong)[partitions]);

    /// <summary>A cursor at the given ids (<c>ms-seq</c>, or <see langword="null"/> for "nothing read yet").</summary>
    public static ResultsCursor At(IReadOnlyList<string?> ids) => new([.. ids.Select(id => id is null ? (0UL, 0UL) : ParseId(id))]);

    /// <summary>The stream id after which to read partition <paramref name="partition"/> (<c>0-0</c>: from its first entry).</summary>
    public string this[int partition] => Id(_ids[partition]);

    /// <summary>This cursor with partition <paramref name="partition"/> moved to <paramref name="id"/>.</summary>
    public ResultsCursor With(int partition, string id)
    {
        var ids = ((ulong, ulong)[])_ids.Clone();
        ids[partition] = ParseId(id);
        return new ResultsCursor(ids);
    }

    /// <summary>Reads a cursor's text; throws <see cref="FormatException"/>, saying what is wrong, when it is not one of <paramref name="partitions"/> partitions.</summary>
    public static ResultsCursor Parse(string text, int partitions)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0 || text[0] != 'r')
        {
            throw Bad(text, "it does not start with 'r'");
        }

        var tokens = text[1..].Split('.');
        if (tokens.Length != partitions + 1)
        {
            throw Bad(text, string.Create(CultureInfo.InvariantCulture, $"it has {tokens.Length - 1} partitions, the computation has {partitions}"));
        }

        var baseMs = Number(tokens[0], text);
        var ids = new (ulong, ulong)[partitions];
        for (var p = 0; p < partitions; p++)
        {
            var token = tokens[p + 1];
            if (token.Length == 0)
            {
                continue;
            }

            var dash = token.IndexOf('-', StringComparison.Ordinal);
            var delta = Number(dash < 0 ? token : token[..dash], text);
            var seq = dash < 0 ? 0 : Number(token[(dash + 1)..], text);
            if (delta > ulong.MaxValue - baseMs)
            {
                throw Bad(text, "an id is out of range");
            }

            ids[p] = (baseMs + delta, seq);
        }

        return new ResultsCursor(ids);
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        var read = _ids.Where(i => i != default).ToList();
        var baseMs = read.Count == 0 ? 0 : read.Min(i => i.Ms);
        var text = new StringBuilder("r").Append(Base36(baseMs));
        foreach (var (ms, seq) in _ids)
        {
            text.Append('.');
            if ((ms, seq) == default)
            {
                continue;
            }

            text.Append(Base36(ms - baseMs));
            if (seq != 0)
            {
                text.Append('-').Append(Base36(seq));
            }
        }

        return text.ToString();
    }

    private static string Id((ulong Ms, ulong Seq) id) => string.Create(CultureInfo.InvariantCulture, $"{id.Ms}-{id.Seq}");

    private static (ulong Ms, ulong Seq) ParseId(string id)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return dash < 0
            ? (ulong.Parse(id, NumberStyles.None, CultureInfo.InvariantCulture), 0)
            : (ulong.Parse(id.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture), ulong.Parse(id.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture));
    }

    private static string Base36(ulong value)
    {
        if (value == 0)
        {
            return "0";
        }

        Span<char> buffer = stackalloc char[13];
        var i = buffer.Length;
        while (value > 0)
        {
            buffer[--i] = Digits[(int)(value % 36)];
            value /= 36;
        }

        return new string(buffer[i..]);
    }

    private static ulong Number(string token, string text)
    {
        if (token.Length is 0 or > 13)
        {
            throw Bad(text, $"'{token}' is not a base-36 number");
        }

        ulong value = 0;
        foreach (var c in token)
        {
            var digit = Digits.IndexOf(c, StringComparison.Ordinal);
            if (digit < 0)
            {
                throw Bad(text, $"'{token}' is not a base-36 number (lower case)");
            }

            if (value > (ulong.MaxValue - (ulong)digit) / 36)
            {
                throw Bad(text, $"'{token}' is out of range");
            }

            value = (value * 36) + (ulong)digit;
        }

        return value;
    }

    private static FormatException Bad(string text, string why) =>
        new($"'{(text.Length > 64 ? text[..64] + "…" : text)}' is not a cursor of this computation's results: {why}.");
}
