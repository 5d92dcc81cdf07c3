using System.Globalization;
using System.Text;

namespace EventStream.Cli;

/// <summary>Writes the few JSON values the CLI emits straight to a <see cref="TextWriter"/>.</summary>
internal static class Json
{
    /// <summary>Writes a JSON string: quotes, backslashes and control characters escaped, everything else as is.</summary>
    public static void WriteString(TextWriter writer, string value)
    {
        writer.Write('"');
        var from = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            string? escape = c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                < ' ' => $"\\u{(int)c:x4}",
                _ when char.IsSurrogate(c) && !IsPaired(value, i) => $"\\u{(int)c:x4}",
                _ => null,
            };
            if (escape is null)
            {
                if (char.IsHighSurrogate(c))
                {
                    i++; // the pair is written whole
                }

                continue;
            }

            writer.Write(value.AsSpan(from, i - from));
            writer.Write(escape);
            from = i + 1;
        }

        writer.Write(value.AsSpan(from));
        writer.Write('"');
    }

    /// <summary>
    /// Writes bytes as read inside a JSON string: the quote, the backslash and control characters escaped, every other
    /// byte as it is (a line that is not valid UTF-8 keeps its bytes).
    /// </summary>
    public static void WriteString(Stream stream, ReadOnlySpan<byte> value)
    {
        stream.WriteByte((byte)'"');
        var from = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var b = value[i];
            if (b >= 0x20 && b != '"' && b != '\\')
            {
                continue;
            }

            stream.Write(value[from..i]);
            stream.Write(Encoding.ASCII.GetBytes(b switch
            {
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                (byte)'\n' => "\\n",
                (byte)'\r' => "\\r",
                (byte)'\t' => "\\t",
                (byte)'\b' => "\\b",
                (byte)'\f' => "\\f",
                _ => $"\\u{b:x4}",
            }));
            from = i + 1;
        }

        stream.Write(value[from..]);
        stream.WriteByte((byte)'"');
    }

    /// <summary>
    /// Writes a double as a JSON number: the shortest text that round-trips, invariant culture ("3", "2.5", "1E+20").
    /// JSON has no infinity or NaN; a sum that overflows is written as <c>null</c>.
    /// </summary>
    public static void WriteNumber(TextWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.Write(value.ToString("R", CultureInfo.InvariantCulture));
        }
        else
        {
            writer.Write("null");
        }
    }

    public static void WriteNumber(TextWriter writer, long value) => writer.Write(value.ToString(CultureInfo.InvariantCulture));

    /// <summary>A top-k value: <c>[{"item":…,"count":…,"error":…}, …]</c>, most frequent first; each item is its JSON text.</summary>
    public static void WriteTopK(TextWriter writer, IReadOnlyList<TopKItem<string>> items)
    {
        writer.Write('[');
        for (var i = 0; i < items.Count; i++)
        {
            writer.Write(i == 0 ? "{\"item\":" : ",{\"item\":");
            writer.Write(items[i].Item);
            writer.Write(",\"count\":");
            WriteNumber(writer, items[i].Count);
            writer.Write(",\"error\":");
            WriteNumber(writer, items[i].Error);
            writer.Write('}');
        }

        writer.Write(']');
    }

    /// <summary>A percentiles value: <c>{"p50":…,"p95":…}</c>, in the order asked for.</summary>
    public static void WritePercentiles(TextWriter writer, IReadOnlyDictionary<double, double> quantiles)
    {
        writer.Write('{');
        var first = true;
        foreach (var (q, value) in quantiles)
        {
            writer.Write(first ? "\"" : ",\"");
            first = false;
            writer.Write(AggregateSpec.Key(q));
            writer.Write("\":");
            WriteNumber(writer, value);
        }

        writer.Write('}');
    }

    private static bool IsPaired(string s, int i) => char.IsHighSurrogate(s[i])
        ? i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])
        : i > 0 && char.IsHighSurrogate(s[i - 1]);

    /// <summary>
    /// One result line and a newline: <c>{"key","start","end","value","count"}</c> (the output of <c>window</c>), and with
    /// a firing <c>,"firing","firingNumber"</c> after them (the output of <c>worker</c>: which firing of the window it is).
    /// </summary>
    public static void WriteResult<TValue>(TextWriter writer, string key, long start, long end, TValue value, long count, Action<TextWriter, TValue> writeValue, WindowFiring? firing = null, int firingNumber = 0)
    {
        writer.Write("{\"key\":");
        WriteString(writer, key);
        writer.Write(",\"start\":");
        WriteNumber(writer, start);
        writer.Write(",\"end\":");
        WriteNumber(writer, end);
        writer.Write(",\"value\":");
        writeValue(writer, value);
        writer.Write(",\"count\":");
        WriteNumber(writer, count);
        if (firing is { } f)
        {
            writer.Write(",\"firing\":");
            WriteString(writer, f switch { WindowFiring.Early => "early", WindowFiring.OnTime => "onTime", WindowFiring.Late => "late", _ => "stopped" });
            writer.Write(",\"firingNumber\":");
            WriteNumber(writer, firingNumber);
        }

        writer.Write("}\n");
    }
}
