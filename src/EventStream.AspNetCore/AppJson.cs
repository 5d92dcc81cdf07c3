using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EventStream.AspNetCore;

/// <summary>JSON metadata from the application's minimal-API JSON options: reflection-based by default, the app's own source-generated context when it is trimmed or AOT-compiled.</summary>
internal static class AppJson
{
    public static JsonTypeInfo<T> TypeInfo<T>(IServiceProvider services, string whereToSetIt)
    {
        var json = services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        return json.TryGetTypeInfo(typeof(T), out var info) && info is JsonTypeInfo<T> typed
            ? typed
            : throw new InvalidOperationException($"No JSON metadata for {typeof(T)}: add it to the application's JSON options (a JsonSerializerContext in TypeInfoResolverChain) or set {whereToSetIt}.");
    }
}
