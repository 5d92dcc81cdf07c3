using System.Text.Json.Serialization.Metadata;

namespace EventStream.AspNetCore;

/// <summary>Options of an ingest endpoint (<see cref="Microsoft.AspNetCore.Builder.EventIngestEndpointRouteBuilderExtensions.MapEventIngest{T}"/>).</summary>
/// <typeparam name="T">The event type the endpoint reads.</typeparam>
public sealed class EventIngestOptions<T>
{
    private const long MaxBodyLimit = 1L << 30;

    /// <summary>Gets or sets the name of the registered pipeline the events go to.</summary>
    /// <value>The default value is <see langword="null"/>: the pipeline registered for <typeparamref name="T"/> without a key (the first one registered).</value>
    public string? PipelineName { get; set; }

    /// <summary>Gets or sets the largest body the endpoint reads, in bytes; a larger one is refused with 413 while it is read, not after.</summary>
    /// <value>The default value is 4 MiB; at most 1 GiB.</value>
    public long MaxBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Gets or sets how many bytes of a bad element's raw text its dead letter keeps (with the element's whole length), so that the store's memory stays bounded.</summary>
    /// <value>The default value is 4 KiB.</value>
    public int MaxRawTextBytes { get; set; } = 4 * 1024;

    /// <summary>Gets or sets how many bad elements a batch may have: a batch with more is refused whole (400) and none of them is kept.</summary>
    /// <value>The default value is 100.</value>
    public int MaxRejected { get; set; } = 100;

    /// <summary>Gets or sets the deepest nesting of JSON the endpoint reads.</summary>
    /// <value>The default value is 64, System.Text.Json's own.</value>
    public int MaxDepth { get; set; } = 64;

    /// <summary>Gets or sets the application's rule for one element: <see langword="null"/> when it is fine, else what is wrong with it (say, a timestamp in the future).</summary>
    /// <value>The default value is <see langword="null"/>: every element that reads is admitted.</value>
    public Func<T, string?>? Validate { get; set; }

    /// <summary>
    /// Gets or sets the application's rule for elements it refuses outright: <see langword="null"/> when the element may
    /// go on, else why not. A refused element is answered in the response's <c>rejected</c> list and counted (outcome
    /// <c>refused</c>) but, unlike one that fails <see cref="Validate"/>, not dead-lettered: use it for what could never be
    /// processed and must not fill the dead-letter store, such as an event older than a window's allowed lateness
    /// (it could only ever be late).
    /// </summary>
    /// <value>The default value is <see langword="null"/>: nothing is refused.</value>
    public Func<T, string?>? Refuse { get; set; }

    /// <summary>Gets or sets how an element is read.</summary>
    /// <value>
    /// The default value is <see langword="null"/>: the source-generated metadata for <see cref="PipelineEvent"/> (web
    /// conventions: camelCase, every constructor parameter required), and for other types the application's minimal-API
    /// JSON options (<c>Microsoft.AspNetCore.Http.Json.JsonOptions</c>); set it to a source-generated
    /// <see cref="JsonTypeInfo{T}"/> for trimmed or native AOT applications.
    /// </value>
    public JsonTypeInfo<T>? JsonTypeInfo { get; set; }

    /// <summary>Gets or sets the stage name a bad element's dead letter is recorded under.</summary>
    /// <value>The default value is <c>ingest</c>.</value>
    public string StageName { get; set; } = "ingest";

    internal IEnumerable<string> Problems()
    {
        if (MaxBodyBytes < 1 || MaxBodyBytes > MaxBodyLimit)
        {
            yield return $"MaxBodyBytes must be from 1 to {MaxBodyLimit} (1 GiB: a body is read into one buffer) (was {MaxBodyBytes})";
        }

        if (MaxRawTextBytes < 0)
        {
            yield return $"MaxRawTextBytes must not be negative (was {MaxRawTextBytes})";
        }

        if (MaxRejected < 0)
        {
            yield return $"MaxRejected must not be negative (was {MaxRejected})";
        }

        if (MaxDepth < 1)
        {
            yield return $"MaxDepth must be positive (was {MaxDepth})";
        }

        if (string.IsNullOrWhiteSpace(StageName))
        {
            yield return "StageName is required";
        }
    }
}
