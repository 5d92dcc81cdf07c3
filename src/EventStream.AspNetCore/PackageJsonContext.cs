using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventStream.AspNetCore;

/// <summary>
/// Source-generated JSON for the envelope and the endpoint's answers: no reflection on the hot path, trimming- and
/// AOT-safe. Every constructor parameter is required and nullable annotations are respected, so a missing or null
/// <c>id</c> is an error that names the field, not an event with a null id.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(PipelineEvent))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))]
[JsonSerializable(typeof(System.Text.Json.JsonElement))]
[JsonSerializable(typeof(EventIngestResult))]
[JsonSerializable(typeof(IReadOnlyList<EventIngestRejection>))]
[JsonSerializable(typeof(DeadLetterPage))]
[JsonSerializable(typeof(DeadLetterReplayAnswer))]
[JsonSerializable(typeof(DeadLetterDiscardRequest))]
[JsonSerializable(typeof(DeadLetterDiscardAnswer))]
internal sealed partial class PackageJsonContext : JsonSerializerContext;
