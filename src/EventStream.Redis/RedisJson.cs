using System.Text.Json;

namespace EventStream.Redis;

/// <summary>
/// The JSON every door of the Redis backend reads and writes by default: the web convention
/// (<see cref="JsonSerializerOptions.Web"/>: camelCase names, read case-insensitively), so entries other clients write in
/// the usual camelCase shape are read as well as the library's own.
/// </summary>
internal static class RedisJson
{
    public static JsonSerializerOptions Default => JsonSerializerOptions.Web;
}
