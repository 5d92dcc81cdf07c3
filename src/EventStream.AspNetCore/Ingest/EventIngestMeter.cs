namespace EventStream.AspNetCore;

/// <summary>
/// The instruments of the ingest endpoints, on the <c>EventStream</c> meter (<see cref="EventStreamMeter.MeterName"/>),
/// tagged <c>pipeline</c>: with them, what was posted adds up — every element of a batch that was read is
/// <c>admitted</c> or <c>dead_lettered</c> (a 202, or the 400 of a batch with no usable element), or <c>refused</c>
/// with its whole batch (the client was told to send it again, or not to).
/// </summary>
public static class EventIngestMeter
{
    /// <summary>Elements read from request bodies (counter, <c>{element}</c>), tagged <c>outcome</c>: <c>admitted</c>, <c>dead_lettered</c> or <c>refused</c>.</summary>
    public const string Elements = "eventstream.ingest.elements";

    /// <summary>Requests answered (counter, <c>{request}</c>), tagged <c>status</c> with the HTTP status code.</summary>
    public const string Requests = "eventstream.ingest.requests";
}
