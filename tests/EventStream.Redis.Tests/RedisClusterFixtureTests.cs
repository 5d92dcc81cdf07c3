using StackExchange.Redis;

namespace EventStream.Redis.Tests;

[Collection(RedisClusterTests.Name)]
public sealed class RedisClusterFixtureTests(RedisClusterFixture cluster)
{
    [Fact]
    public async Task Streams_with_different_hash_tags_land_on_the_nodes_that_own_their_slots_across_the_cluster()
    {
        var db = cluster.Connection.GetDatabase();
        var run = Guid.NewGuid().ToString("N");

        // The fixed hash tags {p0}..{p7} spread over the nodes the same way every run; the keys are this run's own.
        var keys = Enumerable.Range(0, 8).Select(i => (RedisKey)$"{{p{i}}}:in:{run}").ToList();
        try
        {
            await StreamsLandOnTheirOwnersAsync(db, keys, run);
        }
        finally
        {
            foreach (var key in keys)
            {
                await db.KeyDeleteAsync(key);
            }
        }
    }

    private async Task StreamsLandOnTheirOwnersAsync(IDatabase db, List<RedisKey> keys, string run)
    {
        var ids = new Dictionary<RedisKey, RedisValue>();
        foreach (var key in keys)
        {
            ids[key] = await db.StreamAddAsync(key, "run", run);
        }

        var servers = cluster.Connection.GetServers().Where(s => s.IsConnected && !s.IsReplica).ToList();
        servers.Should().HaveCountGreaterThanOrEqualTo(2, "a cluster spreads its slots over several primaries");
        var configuration = servers[0].ClusterConfiguration;
        configuration.Should().NotBeNull("CLUSTER NODES answers on a cluster-enabled server");

        var owners = new HashSet<System.Net.EndPoint>();
        foreach (var key in keys)
        {
            var owner = configuration!.GetBySlot(key);
            owner.Should().NotBeNull("every slot is assigned once cluster_state is ok");
            owners.Add(owner!.EndPoint!);

            // SCAN is per node: exactly the owning primary holds the key.
            var holders = servers.Where(s => s.Keys(pattern: key.ToString()).Any()).Select(s => s.EndPoint).ToList();
            holders.Should().ContainSingle().Which.Should().Be(owner.EndPoint, $"{key} hashes to slot {cluster.Connection.HashSlot(key)}");

            var entries = await db.StreamRangeAsync(key, ids[key], ids[key]);
            entries.Should().ContainSingle().Which["run"].Should().Be((RedisValue)run);
        }

        owners.Should().HaveCountGreaterThanOrEqualTo(2, "8 hash tags spread over the slots of more than one node");
    }

    [Fact]
    public async Task A_lua_script_over_two_keys_with_one_hash_tag_runs_and_keys_across_slots_are_refused()
    {
        var db = cluster.Connection.GetDatabase();
        var tag = "{script-" + Guid.NewGuid().ToString("N") + "}";
        RedisKey stream = tag + ":in";
        RedisKey state = tag + ":state";
        const string Script = """
            local id = redis.call('XADD', KEYS[1], '*', 'value', ARGV[1])
            redis.call('HSET', KEYS[2], 'last', id, 'value', ARGV[1])
            return redis.call('XLEN', KEYS[1])
            """;

        ((long)await db.ScriptEvaluateAsync(Script, [stream, state], ["a"])).Should().Be(1);
        var length = (long)await db.ScriptEvaluateAsync(Script, [stream, state], ["b"]);

        length.Should().Be(2);
        (await db.HashGetAsync(state, "value")).Should().Be((RedisValue)"b");
        var last = await db.HashGetAsync(state, "last");
        (await db.StreamRangeAsync(stream, last, last)).Should().ContainSingle().Which["value"].Should().Be((RedisValue)"b");

        // Proof the connection really is in cluster mode: keys in two slots cannot go to one script.
        RedisKey[] crossSlot = ["{p0}:in", "{p1}:in"];
        cluster.Connection.HashSlot(crossSlot[0]).Should().NotBe(cluster.Connection.HashSlot(crossSlot[1]));
        var cross = () => db.ScriptEvaluateAsync("return 1", crossSlot);
        await cross.Should().ThrowAsync<Exception>().Where(e => e.Message.Contains("slot", StringComparison.OrdinalIgnoreCase));

        await db.KeyDeleteAsync([stream, state]);
    }
}
