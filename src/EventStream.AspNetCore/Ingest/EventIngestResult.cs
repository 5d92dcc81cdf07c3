namespace EventStream.AspNetCore;

/// <summary>The body of a 202 from an ingest endpoint: how many events were admitted, and which elements were not.</summary>
/// <param name="Accepted">The number of events admitted into the pipeline.</param>
/// <param name="Rejected">The elements that were not admitted, each dead-lettered with its raw text and the error.</param>
public sealed record EventIngestResult(int Accepted, IReadOnlyList<EventIngestRejection> Rejected);

/// <summary>An element of a batch that was not admitted.</summary>
/// <param name="Index">The element's position in the batch, from 0 (for NDJSON, among the lines that are not blank).</param>
/// <param name="Error">What is wrong with it: the field, the reason, and where.</param>
public sealed record EventIngestRejection(int Index, string Error);
