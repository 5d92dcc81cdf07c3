using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventStream.Samples.Dashboard;

/// <summary>One event a customer's website posts: who did what on which page, when (epoch ms).</summary>
/// <param name="Site">The site.</param>
/// <param name="User">The user.</param>
/// <param name="Url">The page.</param>
/// <param name="Timestamp">When, epoch milliseconds.</param>
/// <param name="GeoFault">
/// With <c>--redis</c> only: the event was admitted while the demo fault was on, so the "geo" stage fails for it if it
/// is a checkout page. Every instance runs the stages before the window on every event, so the fault must be a property
/// of the event, not of the instance reading it (each would decide differently); replay clears it. Not written when false.
/// </param>
public sealed record SiteEvent(string Site, string User, string Url, long Timestamp, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool GeoFault = false);

/// <summary>Reads a POSTed JSON array element by element: the valid ones become events, each bad one gets its reason.</summary>
public static class SiteEventParser
{
    /// <summary>
    /// Latest accepted timestamp in the future (clock skew of the posting site). Kept small: the window's event time
    /// follows the largest timestamp, so an event from far in the future would move "now" there for every site.
    /// </summary>
    public static readonly TimeSpan MaxFutureSkew = TimeSpan.FromSeconds(10);

    /// <summary>Parses one element. <paramref name="now"/> stands in for a missing timestamp.</summary>
    public static bool TryParse(JsonElement element, long now, out SiteEvent? parsed, out string error)
    {
        parsed = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            error = $"expected a JSON object, got {Describe(element)}";
            return false;
        }

        if (!TryString(element, "site", out var site, out error) || !TryString(element, "user", out var user, out error) || !TryString(element, "url", out var url, out error))
        {
            return false;
        }

        var timestamp = now;
        if (element.TryGetProperty("timestamp", out var ts) && ts.ValueKind != JsonValueKind.Null)
        {
            if (ts.ValueKind != JsonValueKind.Number || !ts.TryGetInt64(out timestamp))
            {
                error = $"\"timestamp\" must be an integer (epoch milliseconds), got {Describe(ts)}";
                return false;
            }

            if (timestamp < 0 || timestamp > now + (long)MaxFutureSkew.TotalMilliseconds)
            {
                error = string.Create(CultureInfo.InvariantCulture, $"\"timestamp\" {timestamp} is out of range (0 to {MaxFutureSkew.TotalSeconds:0} seconds from now)");
                return false;
            }
        }

        parsed = new SiteEvent(site!, user!, url!, timestamp);
        error = "";
        return true;
    }

    private static bool TryString(JsonElement element, string name, out string? value, out string error)
    {
        value = null;
        if (!element.TryGetProperty(name, out var property))
        {
            error = $"\"{name}\" is missing";
            return false;
        }

        if (property.ValueKind != JsonValueKind.String)
        {
            error = $"\"{name}\" must be a string, got {Describe(property)}";
            return false;
        }

        value = property.GetString()!;
        if (string.IsNullOrWhiteSpace(value) || value.Length > 2048)
        {
            error = $"\"{name}\" must be 1 to 2048 characters and not blank";
            return false;
        }

        error = "";
        return true;
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };
}
