using System.Text.Json;
using EventStream.Redis;

namespace EventStream.Cli.Tests;

/// <summary>
/// <c>eventstream worker</c> processes with <c>--agg topk:K:PATH</c> and <c>--agg percentiles:...:PATH</c> against a real
/// redis-server commit exactly the values <c>eventstream window</c> emits for the same input (top-k past its capacity in
/// the tumbling minute windows: 300 users, top 3 of a capacity of 100; a sliding window's merged slices stay exact up
/// to twice the capacity).
/// </summary>
[Collection(RedisTests.Name)]
public sealed class SketchWorkerTests(RedisServerFixture redis) : WorkerRun
{
    [Theory]
    [InlineData("tumbling:1m", "topk:3:data.user")]
    [InlineData("sliding:1m:10s", "topk:3:data.user")]
    [InlineData("sliding:10s:5s", "percentiles:0.5,0.95,0.999:data.ms")]
    [InlineData("session:3s", "topk:3:data.user")]
    [InlineData("session:3s", "percentiles:0,0.5,1:data.ms")]
    public async Task Three_workers_together_commit_exactly_the_sketch_values_window_emits(string window, string agg)
    {
        var input = WriteInput("input.ndjson", events: 6000, badLines: 3, seed: window.Length + agg.Length);
        var expected = await ReferenceAsync(input, window, agg);
        var stream = "sketch-" + Guid.NewGuid().ToString("N")[..8];
        await ProduceAsync(redis.Configuration, stream, input);

        await using var gate = CutProxy.HoldingFirst(redis.Connection.GetEndPoints()[0], "ZRANGEBYSCORE");
        var (outputs, applied) = await RunWorkersAsync(redis.Configuration, stream, window, agg, workers: 3, gate);

        applied.Sum().Should().Be(6000);
        var committed = new List<string>();
        await foreach (var line in RedisPartitionedPipeline.ReadResultsAsync(redis.Connection, Computation(stream)))
        {
            committed.Add(Canonical(line, committed: true));
        }

        expected.Should().NotBeEmpty();
        committed.Order(StringComparer.Ordinal).Should().Equal(expected.Order(StringComparer.Ordinal), "each firing committed once, with the single-process value");
        outputs.Where(File.Exists).SelectMany(File.ReadAllLines).Where(l => l.Length > 0).Select(Canonical).Distinct().Order(StringComparer.Ordinal)
            .Should().Equal(expected.Order(StringComparer.Ordinal), "the workers' sinks together got every committed result");
        if (agg.StartsWith("topk", StringComparison.Ordinal) && window.StartsWith("tumbling", StringComparison.Ordinal))
        {
            expected.Should().Contain(r => System.Text.RegularExpressions.Regex.IsMatch(r, "\"error\":[1-9]"), "some windows hold more users than the capacity");
        }
    }

    /// <summary>
    /// Key, window, count and the value's JSON text of a result line. A committed result is the library's JSON of the
    /// window result (a top-k item is the CLI's item text as a string, a quantile's key is its number): turned into the
    /// CLI's form (the item's JSON itself, "p" and the percentage) to compare.
    /// </summary>
    private static string Canonical(string line) => Canonical(line, committed: false);

    private static string Canonical(string line, bool committed)
    {
        using var doc = JsonDocument.Parse(line);
        var r = doc.RootElement;
        var value = r.GetProperty("value");
        var text = !committed ? value.GetRawText() : value.ValueKind == JsonValueKind.Array
            ? "[" + string.Join(",", value.EnumerateArray().Select(e => $"{{\"item\":{e.GetProperty("item").GetString()},\"count\":{e.GetProperty("count").GetRawText()},\"error\":{e.GetProperty("error").GetRawText()}}}")) + "]"
            : "{" + string.Join(",", value.EnumerateObject().Select(p => $"\"{AggregateSpec.Key(double.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture))}\":{p.Value.GetRawText()}")) + "}";
        return $"{r.GetProperty("key").GetString()}|{r.GetProperty("start").GetInt64()}|{r.GetProperty("end").GetInt64()}|{r.GetProperty("count").GetInt64()}|{text}";
    }

    private new async Task<List<string>> ReferenceAsync(string input, string window, string agg)
    {
        var output = Path.Combine(Path.GetDirectoryName(input)!, "reference-" + Guid.NewGuid().ToString("N")[..6] + ".ndjson");
        var stderr = new StringWriter();
        var code = await EventStream.Cli.Program.RunAsync(
            ["window", "--input", input, "--window", window, "--key", "data.url", "--agg", agg, "--out-of-orderness", "2s", "--output", output, "--late", output + ".late", "--dead-letter", output + ".dead"],
            TextWriter.Null,
            stderr);
        code.Should().Be(0, stderr.ToString());
        return [.. File.ReadAllLines(output).Where(l => l.Length > 0).Select(Canonical)];
    }
}
