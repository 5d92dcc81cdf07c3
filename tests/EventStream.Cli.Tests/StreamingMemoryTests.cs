using System.Text;
using Xunit.Abstractions;
using static EventStream.Cli.Tests.CliHarness;

namespace EventStream.Cli.Tests;

/// <summary>Runs alone: it measures the process's managed heap, which other tests running in parallel would disturb.</summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;

/// <summary>The command streams: the live heap while it runs does not grow with the input.</summary>
[Collection(nameof(RunsAlone))]
public sealed class StreamingMemoryTests : IDisposable
{
    private const int Padding = 200; // characters of filler per event, so the input is large next to the expected heap

    private readonly CliHarness _cli = new();
    private readonly ITestOutputHelper _log;

    public StreamingMemoryTests(ITestOutputHelper log) => _log = log;

    [Fact]
    public async Task The_live_heap_stays_flat_while_a_large_input_streams_through()
    {
        var small = await PeakLiveHeapAsync(lines: 50_000);
        var large = await PeakLiveHeapAsync(lines: 200_000);
        var inputChars = new FileInfo(_cli.InputPath).Length; // ASCII: one char per byte; 2 bytes each as .NET strings

        // Loading the 200k-line input would need ~2 × inputChars bytes (over 100 MB) on the heap, and 4x the lines would
        // add ~85 MB over the 50k-line run. Streaming holds at most the pipeline's queue (10,000 events, ~8 MB of lines
        // here) and the open windows (a few per key), whatever the input's length; the samples land at different
        // fill levels of that queue, hence the margins.
        _log.WriteLine($"input {inputChars >> 20} MB; peak live heap {small.Peak >> 20} MB (50k lines, {small.Samples} samples while it ran), {large.Peak >> 20} MB (200k lines, {large.Samples} samples); {large.Result.Stderr}");
        inputChars.Should().BeGreaterThan(45_000_000);

        // A peak taken from no sample while the large run went on would be the idle heap and pass whatever the command
        // held (here about 11 samples in 1.4 s). The small run is only the reference for the growth: were it not
        // sampled, its peak would be near 0 and the growth check only stricter.
        large.Samples.Should().BeGreaterThanOrEqualTo(2, "the live heap should be sampled while the 200k-line run goes on");
        large.Peak.Should().BeLessThan(40L << 20, $"the peak live heap was {large.Peak >> 20} MB for {inputChars >> 20} MB of input");
        (large.Peak - small.Peak).Should().BeLessThan(24L << 20, $"the peak live heap grew from {small.Peak >> 20} MB (50k lines) to {large.Peak >> 20} MB (200k lines)");
        large.Result.Summary.Should().Be((200_000L, 0L, 199_000L, 0L, 1_000L, large.Result.Output.Count));
    }

    /// <summary>The peak live heap over the run, and how many samples were taken wholly while the command ran.</summary>
    private async Task<(long Peak, int Samples, CliResult Result)> PeakLiveHeapAsync(int lines)
    {
        WriteInput(lines);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);

        // Sample the live heap (after a full collection) every 50 ms while the command runs.
        long peak = 0;
        var samples = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - baseline);
                Interlocked.Increment(ref samples);
                try
                {
                    await Task.Delay(50, stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });

        // Samples finished after the run started and before it ended; the one under way at either end is not counted.
        var before = Volatile.Read(ref samples) + 1;
        var result = await _cli.RunArgsAsync(_cli.Args("tumbling:1s", "data.url", "avg:data.v", "--out-of-orderness", "100ms"));
        var during = Volatile.Read(ref samples) - before;
        await stop.CancelAsync();
        await sampler;
        result.ShouldSucceed();
        return (peak, during, result);
    }

    private void WriteInput(int lines)
    {
        var filler = new string('x', Padding);
        using var writer = new StreamWriter(_cli.InputPath, false, new UTF8Encoding(false), 1 << 16);
        for (var i = 0; i < lines; i++)
        {
            // 50 keys, timestamps 10 ms apart (100 events per 1 s window), one line in 200 unusable.
            writer.WriteLine(i % 200 == 7
                ? $$$"""{"timestamp":{{{i * 10L}}},"data":{"url":"/p{{{i % 50}}}","v":"oops","pad":"{{{filler}}}"}}"""
                : $$$"""{"id":"{{{i}}}","type":"view","source":"web","timestamp":{{{i * 10L}}},"data":{"url":"/p{{{i % 50}}}","v":{{{i % 1000}}},"pad":"{{{filler}}}"}}""");
        }
    }

    public void Dispose() => _cli.Dispose();
}
