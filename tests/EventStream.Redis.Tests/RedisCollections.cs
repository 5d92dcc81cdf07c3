namespace EventStream.Redis.Tests;

/// <summary>The Redis tests' private redis-server (the shared <see cref="RedisServerFixture"/>).</summary>
[CollectionDefinition(Name)]
public sealed class RedisTests : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis";
}

/// <summary>The Redis tests' private 3-node Redis Cluster (the shared <see cref="RedisClusterFixture"/>).</summary>
[CollectionDefinition(Name)]
public sealed class RedisClusterTests : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "redis-cluster";
}
