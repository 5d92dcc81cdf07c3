using EventStream.Windowing.State;
using System.Text.Json;
using System.Text.Json.Serialization;
using FluentAssertions;
using Xunit;

namespace EventStream.Tests.Windowing;

/// <summary>A window stage run partitioned under a host (here a stand-in for the Redis worker), in a real pipeline.</summary>
public sealed class PartitionedWindowTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Only_the_partitions_the_host_lets_in_are_windowed_and_the_others_still_move_event_time()
    {
        var host = new Host(partitions: 2, owned: [0]);
        var pipeline = Head(host);
        var a = Key(host, 0);
        var b = Key(host, 1);

        await pipeline.WriteBatchAsync(new[] { new Click(a, 1_000), new Click(a, 2_000), new Click(b, 3_000), new Click(b, 25_000) });
        await host.DrainAsync(pipeline);
        host.Results.Should().BeEmpty("a partition's engine is brought to the watermark when it next gets an event or is exported");
        await host.Window!.InvokeAsync(() => host.Window.Export(0, new Store()), default);

        host.Results.Should().ContainSingle("the watermark of the whole input (24,999) closed a's window [0, 10 s), though b is not this worker's")
            .Which.Should().Be((0, new WindowResult<string, long>(a, 0, 10_000, 2, 2, WindowFiring.OnTime, 1)));
        var metrics = pipeline.GetMetrics();
        metrics.Windowed.Should().Be(2);
        metrics.OtherPartitions.Should().Be(2);
        metrics.InFlight.Should().Be(0, "events left to other partitions are accounted for");
    }

    [Fact]
    public async Task Completing_a_partitioned_pipeline_fires_nothing_and_only_the_host_fires_the_windows_that_are_left()
    {
        var host = new Host(partitions: 1, owned: [0]);
        var pipeline = Head(host);
        await pipeline.WriteBatchAsync(new[] { new Click("x", 1_000), new Click("x", 2_000) });
        await host.DrainAsync(pipeline);

        await host.Window!.InvokeAsync(() => host.Window.FireAll(0), default);
        await pipeline.CompleteAsync();

        host.Results.Should().ContainSingle("a stop or the end of the pipeline passes no partial result off as final; FireAll fires once")
            .Which.Result.Should().Be(new WindowResult<string, long>("x", 0, 10_000, 2, 2, WindowFiring.OnTime, 1));
    }

    [Fact]
    public async Task A_partition_exported_by_one_worker_and_restored_by_another_goes_on_as_if_one_worker_had_run_it_all()
    {
        var events = Enumerable.Range(0, 2_000).Select(i => new Click($"k{i % 7}", (i * 37L) + (i % 5 * 400))).ToArray();

        // One worker, the whole input.
        var whole = new Host(partitions: 3, owned: [0, 1, 2]);
        var one = Head(whole);
        await one.WriteBatchAsync(events);
        await whole.DrainAsync(one);
        await whole.Window!.InvokeAsync(() => { for (var p = 0; p < 3; p++) { whole.Window.FireAll(p); } }, default);

        // Worker A runs the first half and commits (exports) every partition; worker B restores them and runs the rest.
        var first = new Host(partitions: 3, owned: [0, 1, 2]);
        var a = Head(first);
        await a.WriteBatchAsync(events.AsMemory(0, 1_000));
        await first.DrainAsync(a);
        var committed = new Dictionary<int, (WindowClock Clock, Dictionary<string, byte[]> State)>();
        await first.Window!.InvokeAsync(() =>
        {
            for (var p = 0; p < 3; p++)
            {
                var state = new Store();
                committed[p] = (first.Window.Export(p, state), state.Entries);
            }
        }, default);
        var streamMax = first.Window.StreamMaxTimestamp;
        await a.DisposeAsync();

        var second = new Host(partitions: 3, owned: [0, 1, 2]);
        var b = Head(second);
        var restored = committed.ToDictionary(c => c.Key, c =>
        {
            var partition = second.Window!.BeginRestore(c.Value.Clock);
            foreach (var (field, value) in c.Value.State)
            {
                partition.RestoreEntry(Convert.FromHexString(field), value);
            }

            return partition;
        });
        await second.Window!.InvokeAsync(() =>
        {
            second.Window.StreamMaxTimestamp = streamMax;
            foreach (var (p, partition) in restored)
            {
                second.Window.Adopt(p, partition);
            }
        }, default);
        await b.WriteBatchAsync(events.AsMemory(1_000));
        await second.DrainAsync(b);
        await second.Window.InvokeAsync(() => { for (var p = 0; p < 3; p++) { second.Window.FireAll(p); } }, default);

        var split = first.Results.Concat(second.Results).Select(r => r.Result).ToList();
        split.Should().BeEquivalentTo(whole.Results.Select(r => r.Result), "the same firings, each once, with the same values");
        first.Late.Concat(second.Late).Should().BeEquivalentTo(whole.Late, "the same events are late");
        whole.Results.Should().HaveCount(56, "8 windows of 10 s over 74 s of input, for each of 7 keys");
        whole.Late.Should().NotBeEmpty("the input is out of order beyond the allowed 500 ms");
    }

    [Fact]
    public void A_partitioned_stage_whose_accumulator_cannot_be_serialised_fails_at_build_naming_it()
    {
        var host = new Host(partitions: 1, owned: [0]);
        var builder = PipelineBuilder.Create<Click>("unserialisable")
            .Window("w", Options(), Aggregates.Create<Click, Holder, int>(() => new Holder(() => 1), (h, _) => h, (l, _) => l, h => h.Make()))
            .Sink("out", _ => { });

        var build = () => PartitionedPipeline.AssembleHead<Click>(builder.Definition, host);

        build.Should().Throw<PipelineConfigurationException>().WithMessage("*stage 'w' runs partitioned*accumulator type Holder cannot be*");
    }

    [Fact]
    public void A_partitioned_pipeline_needs_exactly_one_event_time_window()
    {
        var host = new Host(partitions: 1, owned: [0]);
        var none = PipelineBuilder.Create<Click>("none").Sink("out", _ => { });
        var processingTime = PipelineBuilder.Create<Click>("pt")
            .Window("w", new WindowOptions<Click, string> { Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(1)), Key = c => c.Key, Time = TimeCharacteristic.ProcessingTime }, Aggregates.Count<Click>())
            .Sink("out", _ => { });

        FluentActions.Invoking(() => PartitionedPipeline.AssembleHead<Click>(none.Definition, host))
            .Should().Throw<PipelineConfigurationException>().WithMessage("*no window stage*");
        FluentActions.Invoking(() => PartitionedPipeline.AssembleHead<Click>(processingTime.Definition, host))
            .Should().Throw<PipelineConfigurationException>().WithMessage("*processing time*event-time windows only*");
    }

    public sealed record Click(string Key, long Ts);

    public sealed record Holder(Func<int> Make);

    private static WindowOptions<Click, string> Options() => new()
    {
        Assigner = WindowAssigner.Tumbling(TimeSpan.FromSeconds(10)),
        Key = c => c.Key,
        Timestamp = c => c.Ts,
        OutOfOrderness = TimeSpan.FromMilliseconds(500),
    };

    private static IEventPipeline<Click> Head(Host host) =>
        PartitionedPipeline.AssembleHead<Click>(
            PipelineBuilder.Create<Click>("clicks").Filter("valid", c => c.Ts >= 0).Window("w", Options(), Aggregates.Count<Click>()).Sink("out", _ => { }).Definition,
            host);

    private static string Key(Host host, int partition) =>
        Enumerable.Range(0, 100).Select(i => $"key{i}").First(k => host.PartitionOf(System.Text.Encoding.UTF8.GetBytes(k)) == partition);

    private sealed class Host(int partitions, int[] owned) : IWindowPartitionHost
    {
        public int Partitions => partitions;

        public JsonSerializerOptions Json { get; } = new(JsonSerializerOptions.Web) { Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) } };

        public IPartitionedWindow? Window { get; private set; }

        public List<(int Partition, WindowResult<string, long> Result)> Results { get; } = [];

        public int PartitionOf(ReadOnlySpan<byte> key)
        {
            var sum = 0;
            foreach (var b in key)
            {
                sum += b;
            }

            return sum % partitions;
        }

        public bool Accepts(int partition) => owned.Contains(partition);

        public void Attach(IPartitionedWindow window) => Window = window;

        public void OnWindowed(int partition)
        {
        }

        public void OnFiltered(object? item)
        {
        }

        public void OnResult(int partition, string json)
        {
            json.Should().Contain("\"firing\":\"onTime\"", "results are written as the CLI's NDJSON");
            Results.Add((partition, JsonSerializer.Deserialize<WindowResult<string, long>>(json, Json)!));
        }

        public List<(int Partition, Click Event)> Late { get; } = [];

        public void OnLate(int partition, string eventJson, long timestamp, string reason) => Late.Add((partition, JsonSerializer.Deserialize<Click>(eventJson, Json)!));

        public async Task DrainAsync(IEventPipeline<Click> pipeline)
        {
            var deadline = DateTime.UtcNow + Wait;
            while (pipeline.GetMetrics().InFlight != 0)
            {
                DateTime.UtcNow.Should().BeBefore(deadline, "the pipeline drains");
                await Task.Delay(1);
            }
        }
    }

    private sealed class Store : IWindowStateWriter
    {
        public Dictionary<string, byte[]> Entries { get; } = [];

        public void Upsert(ReadOnlySpan<byte> field, ReadOnlySpan<byte> value) => Entries[Convert.ToHexString(field)] = value.ToArray();

        public void Remove(ReadOnlySpan<byte> field) => Entries.Remove(Convert.ToHexString(field));
    }
}
