using System.Buffers;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace EventStream.AspNetCore;

/// <summary>
/// One ingest endpoint: reads the body up to its limit, splits it into elements (a JSON array's values, or NDJSON
/// lines), reads each on its own, admits the usable ones together and dead-letters the others with their error.
/// </summary>
internal sealed partial class IngestDoor<T>
{
    private const string NdjsonMediaType = "application/x-ndjson";

    private readonly EventIngestOptions<T> _options;
    private readonly IServiceProvider _services;
    private readonly Counter<long>? _elements;
    private readonly Counter<long>? _requests;
    private JsonTypeInfo<T>? _typeInfo;

    public IngestDoor(EventIngestOptions<T> options, IServiceProvider services)
    {
        _options = options;
        _services = services;
        if (services.GetService<IMeterFactory>()?.Create(EventStreamMeter.MeterName) is { } meter)
        {
            _elements = meter.CreateCounter<long>(EventIngestMeter.Elements, "{element}", "Elements read from ingest request bodies, by outcome.");
            _requests = meter.CreateCounter<long>(EventIngestMeter.Requests, "{request}", "Ingest requests answered, by status code.");
        }
    }

    private enum BodyKind
    {
        JsonArray,
        Ndjson,
    }

    public async Task<IResult> HandleAsync(HttpContext context)
    {
        var result = await HandleCoreAsync(context).ConfigureAwait(false);
        if (_requests is not null && result is IStatusCodeHttpResult { StatusCode: { } status })
        {
            _requests.Add(1, new KeyValuePair<string, object?>("status", status));
        }

        return result;
    }

    private async Task<IResult> HandleCoreAsync(HttpContext context)
    {
        var request = context.Request;
        if (!TryGetKind(request.ContentType, out var kind, out var contentProblem))
        {
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported content type", contentProblem);
        }

        var pipeline = _options.PipelineName is { } name
            ? context.RequestServices.GetRequiredKeyedService<IEventPipeline<T>>(name)
            : context.RequestServices.GetRequiredService<IEventPipeline<T>>();
        if (pipeline.Completion.IsCompleted)
        {
            return Stopped(pipeline);
        }

        var max = _options.MaxBodyBytes;
        if (request.ContentLength is { } length && length > max)
        {
            return TooLarge(length, max);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = max;
        }

        var (body, read) = await ReadBodyAsync(request.Body, max, context.RequestAborted).ConfigureAwait(false);
        try
        {
            if (read < 0)
            {
                return TooLarge(null, max);
            }

            return await AdmitAsync(context, pipeline, kind, body.AsMemory(0, read)).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    private async Task<IResult> AdmitAsync(HttpContext context, IEventPipeline<T> pipeline, BodyKind kind, ReadOnlyMemory<byte> body)
    {
        var elements = new List<(int Start, int Length, int Line)>();
        if (kind == BodyKind.JsonArray && SplitArray(body.Span, elements, _options.MaxDepth) is { } malformed)
        {
            return Problem(StatusCodes.Status400BadRequest, "The body is not a JSON array of events", malformed);
        }

        if (kind == BodyKind.Ndjson)
        {
            SplitLines(body.Span, elements);
        }

        var typeInfo = _typeInfo ??= ResolveTypeInfo(context.RequestServices);
        var good = new List<T>(elements.Count);
        var bad = new List<(int Index, string Error, int Start, int Length)>();
        var refused = new List<(int Index, string Error)>();
        for (var i = 0; i < elements.Count; i++)
        {
            var (start, length, line) = elements[i];
            if (TryRead(body.Span.Slice(start, length), typeInfo, out var item, out var error, out var keep))
            {
                good.Add(item);
                continue;
            }

            error = kind == BodyKind.Ndjson ? $"line {line}: {error}" : error;
            if (keep)
            {
                bad.Add((i, error, start, length));
            }
            else
            {
                refused.Add((i, error));
            }
        }

        var rejected = bad.Select(b => new EventIngestRejection(b.Index, b.Error))
            .Concat(refused.Select(r => new EventIngestRejection(r.Index, r.Error)))
            .OrderBy(r => r.Index)
            .ToList();
        if (bad.Count + refused.Count > _options.MaxRejected)
        {
            Count(pipeline, "refused", elements.Count);
            return Problem(
                StatusCodes.Status400BadRequest,
                $"{bad.Count + refused.Count} bad elements: more than {_options.MaxRejected} in one batch, so none is admitted or kept",
                Describe(rejected.Take(_options.MaxRejected)),
                rejected.Take(_options.MaxRejected).ToList());
        }

        if (good.Count == 0)
        {
            if (rejected.Count == 0)
            {
                return Problem(StatusCodes.Status400BadRequest, "The batch is empty", "The body holds no event.");
            }

            if (await DeadLetterAsync(pipeline, body, bad, context.RequestAborted).ConfigureAwait(false) is { } failed)
            {
                Count(pipeline, "refused", elements.Count);
                return StoreFailed(context, failed);
            }

            Count(pipeline, "dead_lettered", bad.Count);
            Count(pipeline, "refused", refused.Count);
            return Problem(StatusCodes.Status400BadRequest, "No usable event in the batch", Describe(rejected), rejected);
        }

        var threshold = context.RequestServices.GetService<IOptionsMonitor<PipelineOptions>>()?.Get(pipeline.Name).BackpressureThreshold;
        if (good.Count > threshold)
        {
            Count(pipeline, "refused", elements.Count);
            return Problem(
                StatusCodes.Status413PayloadTooLarge,
                "The batch can never fit",
                $"The batch has {good.Count} events; pipeline '{pipeline.Name}' admits at most {threshold} in flight. Send smaller batches.");
        }

        try
        {
            await pipeline.IngestAsync(good.ToArray(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (DeadLetterStoreFullException ex)
        {
            Count(pipeline, "refused", elements.Count);
            // Not backpressure: waiting does not help until an operator replays or discards dead letters.
            return Problem(StatusCodes.Status503ServiceUnavailable, "The dead-letter store is full", ex.Message);
        }
        catch (BackpressureException ex)
        {
            Count(pipeline, "refused", elements.Count);
            context.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(ex.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return Problem(StatusCodes.Status429TooManyRequests, "The pipeline is full", ex.Message);
        }
        catch (InvalidOperationException)
        {
            Count(pipeline, "refused", elements.Count);
            return Stopped(pipeline); // completed while this request was read: it admits no more events
        }
        catch
        {
            // Anything else (a pipeline of the application's own whose backend is down) is the host's to answer, but the
            // elements were posted and not admitted: the meter says so.
            Count(pipeline, "refused", elements.Count);
            throw;
        }

        Count(pipeline, "admitted", good.Count);
        Count(pipeline, "refused", refused.Count);

        // Admitted: the bad elements are kept now, whatever the client does next (a retry would admit the good ones twice).
        if (await DeadLetterAsync(pipeline, body, bad, CancellationToken.None).ConfigureAwait(false) is { } lost)
        {
            Log.NotKept(Logger(context), bad.Count, pipeline.Name, lost);
            rejected = [.. rejected.Select(r => r with { Error = r.Error + " (not kept: the dead-letter store failed)" })];
        }
        else
        {
            Count(pipeline, "dead_lettered", bad.Count);
        }

        return TypedResults.Json(new EventIngestResult(good.Count, rejected), PackageJsonContext.Default.EventIngestResult, statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<(byte[] Buffer, int Read)> ReadBodyAsync(Stream body, long max, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var read = 0;
        try
        {
            while (true)
            {
                if (read == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, Math.Max(max + 1, buffer.Length + 1L)));
                    buffer.AsSpan(0, read).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var n = await body.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    return (buffer, read);
                }

                read += n;
                if (read > max)
                {
                    return (buffer, -1);
                }
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (buffer, -1);
        }
    }

    /// <summary>The values of a top-level JSON array, by position; the problem in words when the body is not one.</summary>
    private static string? SplitArray(ReadOnlySpan<byte> body, List<(int Start, int Length, int Line)> elements, int maxDepth)
    {
        if (body.Trim(" \t\r\n"u8).IsEmpty)
        {
            return "The body is empty.";
        }

        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = maxDepth });
        try
        {
            reader.Read();

            if (reader.TokenType != JsonTokenType.StartArray)
            {
                return $"The body starts with a JSON {reader.TokenType.ToString().ToLowerInvariant()}, not an array.";
            }

            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndArray)
                {
                    return reader.Read() ? $"There is more after the array, at byte {reader.TokenStartIndex}." : null;
                }

                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                elements.Add((start, (int)reader.BytesConsumed - start, 0));
            }

            return $"The body ends inside the array, in element {elements.Count} (it is cut off after {body.Length} bytes).";
        }
        catch (JsonException) when (IsCutOff(body, maxDepth))
        {
            return $"The body ends inside the array, in element {elements.Count} (it is cut off after {body.Length} bytes).";
        }
        catch (JsonException ex)
        {
            return $"Element {elements.Count} is not valid JSON at byte {reader.BytesConsumed} (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine} of the line): {FirstSentence(ex.Message)}";
        }
    }

    /// <summary>Whether the body is valid JSON as far as it goes, and only ends too soon (read as a block with more to come).</summary>
    private static bool IsCutOff(ReadOnlySpan<byte> body, int maxDepth)
    {
        var reader = new Utf8JsonReader(body, isFinalBlock: false, new JsonReaderState(new JsonReaderOptions { MaxDepth = maxDepth }));
        try
        {
            while (reader.Read())
            {
            }

            return reader.CurrentDepth > 0 || reader.BytesConsumed < body.Length;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>NDJSON: one element per line (LF, or CRLF); blank lines are skipped.</summary>
    private static void SplitLines(ReadOnlySpan<byte> body, List<(int Start, int Length, int Line)> elements)
    {
        var offset = 0;
        var line = 0;
        while (offset < body.Length)
        {
            line++;
            var end = body[offset..].IndexOf((byte)'\n');
            var length = end < 0 ? body.Length - offset : end;
            var content = length > 0 && body[offset + length - 1] == (byte)'\r' ? length - 1 : length;
            if (!body.Slice(offset, content).Trim(" \t"u8).IsEmpty)
            {
                elements.Add((offset, content, line));
            }

            offset += length + 1;
        }
    }

    /// <summary>Reads one element; when it is not usable, <paramref name="keep"/> says whether it is dead-lettered (every error but <see cref="EventIngestOptions{T}.Refuse"/>'s).</summary>
    private bool TryRead(ReadOnlySpan<byte> raw, JsonTypeInfo<T> typeInfo, out T item, out string error, out bool keep)
    {
        item = default!;
        keep = true;
        if (InvalidUtf8At(raw) is { } at)
        {
            error = $"not valid UTF-8 at byte {at} of the element";
            return false;
        }

        try
        {
            if (JsonSerializer.Deserialize(raw, typeInfo) is not { } value)
            {
                error = "the element is null";
                return false;
            }

            if (_options.Refuse?.Invoke(value) is { } refusal)
            {
                error = refusal;
                keep = false;
                return false;
            }

            if (_options.Validate?.Invoke(value) is { } rule)
            {
                error = rule;
                return false;
            }

            item = value;
            error = string.Empty;
            return true;
        }
        catch (JsonException ex)
        {
            error = ex.Path is { Length: > 1 } path ? $"{path}: {FirstSentence(ex.Message)}" : FirstSentence(ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            // System.Text.Json reports text it cannot turn into .NET strings (an escaped lone surrogate) this way.
            error = ex.Message;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException or NotSupportedException)
        {
            error = ex.Message;
        }

        return false;
    }

    /// <summary>The 1-based position of the first byte that is not UTF-8, or <see langword="null"/> when the element is valid.</summary>
    private static int? InvalidUtf8At(ReadOnlySpan<byte> raw)
    {
        if (System.Text.Unicode.Utf8.IsValid(raw))
        {
            return null;
        }

        for (var i = 0; i < raw.Length;)
        {
            if (System.Text.Rune.DecodeFromUtf8(raw[i..], out _, out var consumed) != OperationStatus.Done)
            {
                return i + 1;
            }

            i += consumed;
        }

        return raw.Length;
    }

    /// <summary>Keeps each bad element with its error; returns the store's exception when it failed.</summary>
    private async Task<Exception?> DeadLetterAsync(IEventPipeline<T> pipeline, ReadOnlyMemory<byte> body, List<(int Index, string Error, int Start, int Length)> bad, CancellationToken cancellationToken)
    {
        var now = (_services.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();
        var traceParent = System.Diagnostics.Activity.Current is { IdFormat: System.Diagnostics.ActivityIdFormat.W3C } request ? request.Id : null;
        try
        {
            foreach (var (index, error, start, length) in bad)
            {
                var raw = body.Span.Slice(start, length);
                var keep = Math.Min(raw.Length, _options.MaxRawTextBytes);
                while (keep > 0 && keep < raw.Length && (raw[keep] & 0xC0) == 0x80)
                {
                    keep--; // not inside a character
                }

                var message = keep < raw.Length
                    ? $"element {index}: {error} (its raw text is {raw.Length} bytes; the first {keep} are kept)"
                    : $"element {index}: {error}";
                await pipeline.DeadLetters.AddAsync(
                    new DeadLetterEntry
                    {
                        Id = Guid.NewGuid().ToString("N"),
                        Pipeline = pipeline.Name,
                        Stage = _options.StageName,
                        Reason = DeadLetterReason.Failed,
                        ExceptionType = "InvalidElement",
                        Message = message,
                        Attempts = 1,
                        FirstFailure = now,
                        LastFailure = now,
                        TraceParent = traceParent,
                        Event = Encoding.UTF8.GetString(raw[..keep]),
                    },
                    cancellationToken).ConfigureAwait(false);
            }

            return null;
        }
#pragma warning disable CA1031 // Any store failure answers 503 (nothing admitted) or is reported in the 202 (the events were admitted).
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            return ex;
        }
    }

    private JsonTypeInfo<T> ResolveTypeInfo(IServiceProvider services)
    {
        if (_options.JsonTypeInfo is { } configured)
        {
            return configured;
        }

        if (typeof(T) == typeof(PipelineEvent))
        {
            return (JsonTypeInfo<T>)(object)PackageJsonContext.Default.PipelineEvent;
        }

        return AppJson.TypeInfo<T>(services, "EventIngestOptions.JsonTypeInfo");
    }

    /// <summary>Counts elements by outcome.</summary>
    private void Count(IEventPipeline<T> pipeline, string outcome, int count)
    {
        if (_elements is not null && count > 0)
        {
            _elements.Add(count, new KeyValuePair<string, object?>("pipeline", pipeline.Name), new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    private static bool TryGetKind(string? contentType, out BodyKind kind, out string problem)
    {
        kind = BodyKind.JsonArray;
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media) || media.MediaType.Value is not { } type)
        {
            problem = $"Send application/json (an array of events) or {NdjsonMediaType} (one event per line); the request's content type is '{contentType}'.";
            return false;
        }

        if (media.Charset.HasValue && !media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            problem = $"The body must be UTF-8; the request says charset={media.Charset}.";
            return false;
        }

        if (type.Equals(NdjsonMediaType, StringComparison.OrdinalIgnoreCase))
        {
            kind = BodyKind.Ndjson;
            problem = string.Empty;
            return true;
        }

        if (type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || (type.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && type.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
        {
            problem = string.Empty;
            return true;
        }

        problem = $"Send application/json (an array of events) or {NdjsonMediaType} (one event per line), not {type}: a form or text body is what a cross-site page can post without asking.";
        return false;
    }

    private static PackageProblem TooLarge(long? length, long max) => Problem(
        StatusCodes.Status413PayloadTooLarge,
        "The body is too large",
        length is { } n ? $"The body is {n} bytes; the limit is {max}." : $"The body passed the limit of {max} bytes; it was not read further.");

    private static PackageProblem Stopped(IEventPipeline<T> pipeline) => Problem(
        StatusCodes.Status503ServiceUnavailable,
        "The pipeline is stopping",
        $"Pipeline '{pipeline.Name}' admits no more events: it is stopping or has stopped.");

    private static PackageProblem StoreFailed(HttpContext context, Exception exception)
    {
        context.Response.Headers.RetryAfter = "1";
        return Problem(StatusCodes.Status503ServiceUnavailable, "The dead-letter store is unavailable", $"The batch's bad elements could not be kept, so nothing was admitted: {exception.Message}");
    }

    private static string Describe(IEnumerable<EventIngestRejection> rejected) => string.Join("; ", rejected.Select(r => $"element {r.Index}: {r.Error}"));

    private static string FirstSentence(string message)
    {
        var path = message.IndexOf(" Path:", StringComparison.Ordinal);
        return path > 0 ? message[..path] : message;
    }

    private static PackageProblem Problem(int status, string title, string detail, IReadOnlyList<EventIngestRejection>? errors = null) =>
        PackageProblem.Of(
            status,
            title,
            detail,
            errors is null ? null : new Dictionary<string, object?>
            {
                // As a JsonElement from the source-generated context: the problem writer needs no reflection for it.
                ["errors"] = JsonSerializer.SerializeToElement(errors, PackageJsonContext.Default.IReadOnlyListEventIngestRejection),
            });

    private static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger("EventStream.AspNetCore.Ingest") ?? (ILogger)NullLogger.Instance;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "{Count} bad element(s) of an admitted batch for pipeline {Pipeline} could not be dead-lettered; the client was told which.")]
        public static partial void NotKept(ILogger logger, int count, string pipeline, Exception exception);
    }
}
