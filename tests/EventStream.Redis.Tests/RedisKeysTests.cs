
namespace EventStream.Redis.Tests;

/// <summary>The key layout of a consumer group's keys (the stream source's dead-letter stream and its scripts), in the stream's cluster slot.</summary>
[Collection(RedisTests.Name)]
public sealed class RedisKeysTests(RedisServerFixture redis)
{
    [Fact]
    public void Keys_share_the_stream_hash_tag_so_scripts_stay_in_one_cluster_slot()
    {
        RedisKeys.Namespace("es", "clicks", "g").Should().Be("es:{clicks}:g");
        RedisKeys.Namespace("es", "{p3}:clicks", "g").Should().Be("es:{p3}:{p3}:clicks:g");
        RedisKeys.Namespace("es", "{p3}:refunds", "g").Should().NotBe(RedisKeys.Namespace("es", "{p3}:clicks", "g"), "streams that share a tag keep their keys apart");
        var slot = new Func<string, int>(k => redis.Connection.HashSlot(k));
        foreach (var stream in new[] { "clicks", "{p3}:clicks", "a{b}c", "x{y}{z}" })
        {
            slot(RedisKeys.Namespace("es", stream, "g") + ":dead").Should().Be(slot(stream), stream);
        }
    }

    [Theory]
    [InlineData("a}b")]
    [InlineData("{}x")]
    [InlineData("{open")]
    public async Task A_stream_source_on_a_key_with_braces_but_no_hash_tag_is_refused_because_its_keys_could_not_share_its_slot(string stream)
    {
        await using var pipeline = PipelineBuilder.Create<Click>("source").Sink("s", _ => { }).Build();

        var act = () => new RedisStreamSource<Click>(redis.Connection, pipeline, new RedisStreamSourceOptions { Stream = stream, Group = "g" });

        act.Should().Throw<ArgumentException>().WithMessage($"*Stream '{stream}' has a brace but no hash tag*");
    }
}
