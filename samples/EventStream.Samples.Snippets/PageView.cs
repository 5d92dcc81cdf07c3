/// <summary>A page view as a site's tracking script sends it; <c>Time</c> is when it happened (its event time).</summary>
public sealed record PageView(string Site, string Url, string UserId, DateTimeOffset Time);
