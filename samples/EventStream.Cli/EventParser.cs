using System.Globalization;
using System.Text.Json;

namespace EventStream.Cli;

/// <summary>A dotted path into an event, such as <c>data.url</c>; a segment of digits also indexes an array.</summary>
public sealed class JsonPath
{
    private readonly string[] _segments;

    private JsonPath(string text, string[] segments)
    {
        Text = text;
        _segments = segments;
    }

    /// <summary>Gets the path as written.</summary>
    public string Text { get; }

    /// <summary>Parses a path: one or more non-empty segments separated by dots.</summary>
    /// <summary>Parses the value of <c>--key</c> or throws a <see cref="UsageException"/> that says what is expected.</summary>
    public static JsonPath ParseKeyOption(string text) =>
        TryParse(text, out var path) ? path : throw new UsageException($"bad --key '{text}': expected a dotted path such as data.url or source");

    public static bool TryParse(string text, out JsonPath path)
    {
        var segments = text.Split('.');
        path = new JsonPath(text, segments);
        return text.Length > 0 && segments.All(s => s.Length > 0);
    }

    /// <summary>Finds the value at the path; when there is none, <paramref name="why"/> says where the path ends.</summary>
    public bool TryResolve(JsonElement root, out JsonElement value, out string why)
    {
        value = root;
        why = "";
        for (var i = 0; i < _segments.Length; i++)
        {
            var segment = _segments[i];
            var parent = i == 0 ? "the event" : $"\"{string.Join('.', _segments, 0, i)}\"";
            switch (value.ValueKind)
            {
                case JsonValueKind.Object:
                    if (!value.TryGetProperty(segment, out value))
                    {
                        why = i == 0 ? "" : $" ({parent} has no property \"{segment}\")";
                        return false;
                    }

                    break;

                case JsonValueKind.Array:
                    if (!int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index >= value.GetArrayLength())
                    {
                        why = $" ({parent} is an array without an element \"{segment}\")";
                        return false;
                    }

                    value = value[index];
                    break;

                default:
                    why = $" ({parent} is {EventParser.Describe(value)}, not an object)";
                    return false;
            }
        }

        return true;
    }

    public override string ToString() => Text;
}

/// <summary>An event the pipeline windows: its line as read, key, timestamp and the aggregated value.</summary>
internal sealed class ParsedEvent(string line, string key, long timestamp, double number, string? distinct)
{
    public string Line { get; } = line;

    public string Key { get; } = key;

    public long Timestamp { get; } = timestamp;

    /// <summary>Gets the value of sum, avg, min and max.</summary>
    public double Number { get; } = number;

    /// <summary>Gets the value of distinct (the raw JSON text of the value) and of topk (its JSON text, a string re-escaped the one way <c>Json.WriteString</c> writes it, so "\u0041" and "A" are one item).</summary>
    public string? Distinct { get; } = distinct;
}

/// <summary>
/// Turns a line into a <see cref="ParsedEvent"/>, or says why it cannot be used: not a JSON object, no integer
/// <c>timestamp</c>, no key, or (for the aggregates that need one) no usable value.
/// </summary>
internal sealed class EventParser(JsonPath key, AggregateSpec aggregate)
{
    /// <summary>
    /// Timestamps are limited to ±2^62 ms (±146 million years) so that window arithmetic (timestamp + size + lateness)
    /// cannot overflow a 64-bit integer.
    /// </summary>
    public const long MaxTimestamp = 1L << 62;

    private const int MaxQuoted = 80;

    public bool TryParse(string line, out ParsedEvent? parsed, out string error)
    {
        parsed = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            error = $"not valid JSON: {ex.Message}";
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = $"not a JSON object: the line is {Describe(root)}";
                return false;
            }

            if (!TryTimestamp(root, out var timestamp, out error) || !TryKey(root, out var keyValue, out error))
            {
                return false;
            }

            var number = 0.0;
            string? distinct = null;
            if (aggregate.Path is { } path)
            {
                if (!path.TryResolve(root, out var value, out var why))
                {
                    error = $"value \"{path}\" is missing{why}";
                    return false;
                }

                if (aggregate.Kind == AggregateKind.Distinct)
                {
                    distinct = value.GetRawText();
                }
                else if (aggregate.Kind == AggregateKind.TopK)
                {
                    if (!TryItem(value, out distinct))
                    {
                        error = $"value \"{path}\" is not valid Unicode text: {Quote(value.GetRawText())}";
                        return false;
                    }
                }
                else if (value.ValueKind != JsonValueKind.Number)
                {
                    error = $"value \"{path}\" is not a number: it is {Describe(value)}";
                    return false;
                }
                else if (!value.TryGetDouble(out number) || !double.IsFinite(number))
                {
                    error = $"value \"{path}\" is out of the range of a double: {Quote(value.GetRawText())}";
                    return false;
                }
            }

            parsed = new ParsedEvent(line, keyValue, timestamp, number, distinct);
            error = "";
            return true;
        }
    }

    /// <summary>A top-k item as the JSON it is written back as: a string re-escaped canonically, anything else as its text.</summary>
    private static bool TryItem(JsonElement value, out string? item)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            item = value.GetRawText();
            return true;
        }

        string text;
        try
        {
            text = value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            item = null;
            return false;
        }

        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        Json.WriteString(writer, text);
        item = writer.ToString();
        return true;
    }

    /// <summary>Describes a JSON value for an error message, for example <c>a string "abc"</c>.</summary>
    internal static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"a string {Quote(value.GetRawText())}",
        JsonValueKind.Number => $"the number {Quote(value.GetRawText())}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {value.GetRawText()}",
        _ => "null",
    };

    private static string Quote(string raw) => raw.Length <= MaxQuoted ? raw : string.Concat(raw.AsSpan(0, MaxQuoted), "…");

    private static bool TryTimestamp(JsonElement root, out long timestamp, out string error)
    {
        timestamp = 0;
        if (!root.TryGetProperty("timestamp", out var value))
        {
            error = "no \"timestamp\": the event has no timestamp property";
            return false;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            error = $"no integer \"timestamp\": it is {Describe(value)}";
            return false;
        }

        if (!value.TryGetInt64(out timestamp))
        {
            var raw = value.GetRawText();
            error = raw.AsSpan().IndexOfAny(".eE") >= 0
                ? $"no integer \"timestamp\": {Quote(raw)} is not an integer (epoch milliseconds)"
                : $"\"timestamp\" {Quote(raw)} is out of range (at most ±{MaxTimestamp} epoch milliseconds)";
            return false;
        }

        if (timestamp is > MaxTimestamp or < -MaxTimestamp)
        {
            error = $"\"timestamp\" {timestamp} is out of range (at most ±{MaxTimestamp} epoch milliseconds)";
            return false;
        }

        error = "";
        return true;
    }

    private bool TryKey(JsonElement root, out string keyValue, out string error)
    {
        keyValue = "";
        if (!key.TryResolve(root, out var value, out var why))
        {
            error = $"key \"{key}\" is missing{why}";
            return false;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            // A non-string key is written as its JSON text: 42 → "42", {"a":1} → "{\"a\":1}".
            keyValue = value.GetRawText();
            error = "";
            return true;
        }

        try
        {
            keyValue = value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // A string with an unpaired surrogate escape such as "\ud800" has no text form.
            error = $"key \"{key}\" is not valid Unicode text: {Quote(value.GetRawText())}";
            return false;
        }

        error = "";
        return true;
    }
}
