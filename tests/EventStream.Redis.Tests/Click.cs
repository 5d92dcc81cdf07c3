namespace EventStream.Redis.Tests;

/// <summary>The Redis tests' page view: URL (a window key with ':', braces or empty among them), event time, a duration and a user.</summary>
public sealed record Click(string Url, long Ts, double Ms, string User);
