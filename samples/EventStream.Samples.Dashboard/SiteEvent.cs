using System.Globalization;
using System.Text.Json;

namespace EventStream.Samples.Dashboard;

/// <summary>One page view as the window stage counts it: who (user) saw which page (url) of which site, when (epoch ms).</summary>
/// <param name="Site">The site: the envelope's <c>source</c>.</param>
/// <param name="User">The user: the envelope's <c>data.userId</c>.</param>
/// <param name="Url">The page: the envelope's <c>data.url</c>.</param>
/// <param name="Timestamp">When, epoch milliseconds: the envelope's <c>timestamp</c>.</param>
public sealed record SiteEvent(string Site, string User, string Url, long Timestamp);

/// <summary>
/// What the dashboard reads from the library's event envelope (<see cref="PipelineEvent"/>): <c>source</c> is the site,
/// <c>data.url</c> the page, <c>data.userId</c> the user. The ingest door applies <see cref="Validate"/> to every element
/// (a failure is dead-lettered with the reason); the "geo" stage turns an envelope into a <see cref="SiteEvent"/>.
/// </summary>
public static class PageViews
{
    /// <summary>The envelope's <c>type</c> the simulator and the README send (any type is counted as a page view).</summary>
    public const string Type = "pageview";

    /// <summary>
    /// Latest accepted timestamp in the future (clock skew of the posting site). Kept small: the window's event time
    /// follows the largest timestamp, so an event from far in the future would move "now" there for every site.
    /// </summary>
    public static readonly TimeSpan MaxFutureSkew = TimeSpan.FromSeconds(10);

    private const int MaxLength = 2048;

    /// <summary>Why the element cannot be counted, or <see langword="null"/> when it can.</summary>
    /// <param name="e">The envelope, as the door read it.</param>
    /// <param name="now">The clock, epoch milliseconds.</param>
    public static string? Validate(PipelineEvent e, long now)
    {
        if (Text("source", e.Source) is { } source)
        {
            return source;
        }

        if (e.Data.ValueKind != JsonValueKind.Object)
        {
            return $"\"data\" must be an object with \"url\" and \"userId\", got {Describe(e.Data.ValueKind)}";
        }

        foreach (var name in (ReadOnlySpan<string>)["url", "userId"])
        {
            if (!e.Data.TryGetProperty(name, out var value))
            {
                return $"\"data.{name}\" is missing";
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                return $"\"data.{name}\" must be a string, got {Describe(value.ValueKind)}";
            }

            if (Text($"data.{name}", value.GetString()) is { } problem)
            {
                return problem;
            }
        }

        var latest = now + (long)MaxFutureSkew.TotalMilliseconds;
        return e.Timestamp > latest
            ? string.Create(CultureInfo.InvariantCulture, $"\"timestamp\" {e.Timestamp} is more than {MaxFutureSkew.TotalSeconds:0} seconds in the future")
            : null;
    }

    /// <summary>The page view an envelope that passed <see cref="Validate"/> holds.</summary>
    public static SiteEvent Read(PipelineEvent e) => new(e.Source, e.GetString("userId")!, e.GetString("url")!, e.Timestamp);

    /// <summary>An envelope for a page view, as a site's tracking script would post it.</summary>
    public static PipelineEvent Envelope(string id, string site, string userId, string url, long timestamp) =>
        new(id, Type, site, timestamp, JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["url"] = url, ["userId"] = userId }));

    private static string? Text(string name, string? value) =>
        string.IsNullOrWhiteSpace(value) || value.Length > MaxLength ? $"\"{name}\" must be 1 to {MaxLength} characters and not blank" : null;

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };
}
