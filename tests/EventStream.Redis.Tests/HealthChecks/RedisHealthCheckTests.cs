using EventStream.Redis.Partitions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace EventStream.Redis.Tests.HealthChecks;

/// <summary>
/// The Redis health checks through the framework's <see cref="HealthCheckService"/>, on a real redis-server: a
/// partitioned computation's owners and lag, a consumer group's lag, and Redis that cannot be reached.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class RedisHealthCheckTests(RedisServerFixture redis)
{
    private const int Partitions = 4;
    private readonly string _stream = "health-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..6];

    [Fact]
    public async Task A_computation_whose_partitions_all_have_a_live_owner_and_no_lag_is_healthy_with_each_partitions_figures()
    {
        var db = redis.Connection.GetDatabase();
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => db.StreamAddAsync(_stream, "event", $$"""{"url":"/p{{i % 20}}","ts":{{1_000 + i}},"ms":1,"user":"u"}""")));
        using var stop = new CancellationTokenSource();
        var worker = PipelineBuilder.Create<Click>("clicks")
            .Window("w", new WindowOptions<Click, string> { Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)), Key = c => c.Url, Timestamp = c => c.Ts }, Aggregates.Count<Click>())
            .Sink("out", _ => { })
            .BuildPartitioned(redis.Connection, Computation("w1"));
        var run = worker.RunAsync(stop.Token);
        await TestSupport.Eventually(async () => (await RedisPartitionedPipeline.ReadMetricsAsync(redis.Connection, Computation())).Read == 200, "the input committed", 30_000);

        var entry = await CheckAsync(h => h.AddRedisPartitionedHealthCheck(redis.Configuration, Computation()));
        await stop.CancelAsync();
        await run;

        entry.Status.Should().Be(HealthStatus.Healthy, entry.Description);
        entry.Description.Should().Contain($"'g' on stream '{_stream}'").And.Contain("4 partitions owned");
        entry.Data["owners"].Should().BeEquivalentTo(new[] { "w1" });
        entry.Data["withoutLiveOwner"].Should().BeEquivalentTo(Array.Empty<int>());
        var partitions = Enumerable.Range(0, Partitions).Select(p => (PartitionMetrics)entry.Data[$"partition:{p:D2}"]).ToList();
        partitions.Should().OnlyContain(p => p.Owner == "w1" && p.LeaseLive && p.Lag == TimeSpan.Zero);
        partitions.Sum(p => p.Read).Should().Be(200);
    }

    [Fact]
    public async Task A_partition_whose_owners_lease_has_run_out_makes_the_computation_degraded_naming_it()
    {
        // On a fake clock, as the partition tests do: a worker took every partition at T0 with a 1 s lease, then died.
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000));
        var t0 = time.GetUtcNow().ToUnixTimeMilliseconds();
        var store = new PartitionStore(redis.Connection.GetDatabase(), Keys);
        for (var p = 0; p < Partitions; p++)
        {
            (await store.TryAcquireAsync(p, "dead-worker", t0, p == 3 ? t0 + 5_000 : t0 + 1_000)).Epoch.Should().BePositive();
        }

        void Add(IHealthChecksBuilder h) => h.AddRedisPartitionedHealthCheck(redis.Configuration, Computation(), o => o.TimeProvider = time);
        (await CheckAsync(Add)).Status.Should().Be(HealthStatus.Healthy, "every lease is live at T0");

        time.Advance(TimeSpan.FromSeconds(2));
        var entry = await CheckAsync(Add);

        entry.Status.Should().Be(HealthStatus.Degraded);
        entry.Description.Should().Contain("3 of 4 partitions have no live owner (0, 1, 2)");
        entry.Data["withoutLiveOwner"].Should().BeEquivalentTo(new[] { 0, 1, 2 });
        ((PartitionMetrics)entry.Data["partition:00"]).Should().Match<PartitionMetrics>(p => p.Owner == "dead-worker" && !p.LeaseLive);
        ((PartitionMetrics)entry.Data["partition:03"]).LeaseLive.Should().BeTrue("its lease runs to T0 + 5 s");
    }

    [Fact]
    public async Task A_partition_lagging_past_the_mark_makes_the_computation_degraded_and_the_status_can_be_chosen()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000));
        var t0 = time.GetUtcNow().ToUnixTimeMilliseconds();
        var db = redis.Connection.GetDatabase();
        var store = new PartitionStore(db, Keys);
        for (var p = 0; p < Partitions; p++)
        {
            (await store.TryAcquireAsync(p, "slow-worker", t0, t0 + 60_000)).Epoch.Should().BePositive();
        }

        // The input's last entry is 10 minutes (of input time) after 1000-0; partition 2 has committed only up to 1000-0.
        await db.StreamAddAsync(_stream, "event", "{}", "1000-0");
        await db.StreamAddAsync(_stream, "event", "{}", "601000-0");
        for (var p = 0; p < Partitions; p++)
        {
            await db.HashSetAsync(Keys.Cursor(p), "pos", p == 2 ? "1000-0" : "601000-0");
        }

        var entry = await CheckAsync(h => h.AddRedisPartitionedHealthCheck(redis.Configuration, Computation(), o =>
        {
            o.TimeProvider = time;
            o.MaxPartitionLag = TimeSpan.FromMinutes(5);
        }));

        entry.Status.Should().Be(HealthStatus.Degraded);
        entry.Description.Should().Contain("1 partitions lag more than 00:05:00 behind the input (2; partition 2: 00:10:00)");
        entry.Data["lagging"].Should().BeEquivalentTo(new[] { 2 });
        entry.Data["maxLag"].Should().Be(TimeSpan.FromMinutes(10));
        ((PartitionMetrics)entry.Data["partition:01"]).Lag.Should().Be(TimeSpan.Zero);

        var unhealthy = await CheckAsync(h => h.AddRedisPartitionedHealthCheck(redis.Configuration, Computation(), o =>
        {
            o.TimeProvider = time;
            o.MaxPartitionLag = TimeSpan.FromMinutes(5);
            o.LagStatus = HealthStatus.Unhealthy;
        }));
        unhealthy.Status.Should().Be(HealthStatus.Unhealthy, "the status for a lag is the application's choice");
    }

    [Fact]
    public async Task A_consumer_group_lagging_past_the_mark_is_degraded_and_healthy_once_it_catches_up()
    {
        var db = redis.Connection.GetDatabase();
        await db.StreamCreateConsumerGroupAsync(_stream, "readers", "0", createStream: true);
        await Task.WhenAll(Enumerable.Range(0, 30).Select(i => db.StreamAddAsync(_stream, "event", $"{{\"n\":{i}}}")));
        void Add(IHealthChecksBuilder h) => h.AddRedisStreamGroupHealthCheck(redis.Configuration, _stream, "readers", o => o.MaxGroupLag = 10);

        var behind = await CheckAsync(Add);
        behind.Status.Should().Be(HealthStatus.Degraded);
        behind.Description.Should().Contain("lags 30 entries behind, more than 10");
        behind.Data["lag"].Should().Be(30L);

        await db.StreamReadGroupAsync(_stream, "readers", "c1", ">", count: 25);
        var caughtUp = await CheckAsync(Add);
        caughtUp.Status.Should().Be(HealthStatus.Healthy, caughtUp.Description);
        caughtUp.Data["lag"].Should().Be(5L);
        caughtUp.Data["pending"].Should().Be(25L);
        caughtUp.Data["consumers"].Should().Be(1L);
    }

    [Fact]
    public async Task A_consumer_group_that_does_not_exist_is_unhealthy_saying_so()
    {
        var entry = await CheckAsync(h => h.AddRedisStreamGroupHealthCheck(redis.Configuration, _stream, "nobody"));

        entry.Status.Should().Be(HealthStatus.Unhealthy);
        entry.Description.Should().Be($"Stream '{_stream}' has no consumer group 'nobody': nothing reads it (no consumer has started).");
    }

    [Fact]
    public async Task Redis_that_is_stopped_makes_the_checks_unhealthy_within_their_timeout_with_a_clear_description()
    {
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { AppendOnly = false });
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(server.Configuration))
        {
            await connection.GetDatabase().StreamCreateConsumerGroupAsync(_stream, "readers", "0", createStream: true);
        }

        await using var provider = Provider(h => h
            .AddRedisPartitionedHealthCheck(server.Configuration, Computation(), o => o.Timeout = TimeSpan.FromSeconds(1))
            .AddRedisStreamGroupHealthCheck(server.Configuration, _stream, "readers", o => o.Timeout = TimeSpan.FromSeconds(1)));
        var checks = provider.GetRequiredService<HealthCheckService>();
        (await checks.CheckHealthAsync()).Entries["redis-stream-" + _stream + "-readers"].Status.Should().Be(HealthStatus.Healthy);

        await server.KillAsync();
        var started = System.Diagnostics.Stopwatch.StartNew();
        var report = await checks.CheckHealthAsync();

        started.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(4), "each check gives Redis 1 s");
        report.Status.Should().Be(HealthStatus.Unhealthy);
        report.Entries.Values.Should().HaveCount(2).And.OnlyContain(e => e.Status == HealthStatus.Unhealthy);
        report.Entries["redis-partitioned-g"].Description.Should().MatchRegex("^Redis (did not answer within 1 s|cannot be reached) .*the partitions of 'g' on stream '" + _stream + "'");
        report.Entries["redis-stream-" + _stream + "-readers"].Description.Should().MatchRegex("^Redis (did not answer within 1 s|cannot be reached) .*group 'readers' of stream '" + _stream + "'");
    }

    [Fact]
    public void Invalid_options_are_refused_when_the_check_is_added_naming_each_problem()
    {
        var services = new ServiceCollection();
        var act = () => services.AddHealthChecks().AddRedisStreamGroupHealthCheck(redis.Configuration, _stream, "g", o =>
        {
            o.MaxGroupLag = -1;
            o.Timeout = TimeSpan.Zero;
        });

        act.Should().Throw<ArgumentException>().WithMessage("*MaxGroupLag must not be negative (was -1)*Timeout must be positive*");
    }

    private PartitionKeys Keys => new(_prefix, _stream, "g", Partitions);

    private PartitionedOptions Computation(string consumer = "health") => new()
    {
        Stream = _stream,
        Group = "g",
        Consumer = consumer,
        KeyPrefix = _prefix,
        Partitions = Partitions,
        CommitInterval = TimeSpan.FromMilliseconds(100),
        Lease = TimeSpan.FromSeconds(2),
    };

    private static ServiceProvider Provider(Action<IHealthChecksBuilder> add)
    {
        var services = new ServiceCollection().AddLogging();
        add(services.AddHealthChecks());
        return services.BuildServiceProvider();
    }

    private static async Task<HealthReportEntry> CheckAsync(Action<IHealthChecksBuilder> add)
    {
        await using var provider = Provider(add);
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return report.Entries.Values.Should().ContainSingle().Subject;
    }
}
