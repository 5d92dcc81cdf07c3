using System.Globalization;
using System.Text.Json;
using static EventStream.Cli.Tests.CliHarness;

namespace EventStream.Cli.Tests;

/// <summary><c>--agg topk:K:PATH</c> and <c>--agg percentiles:Q1,Q2,...:PATH</c> on <c>eventstream window</c>: values by hand, bounds past capacity, bad specs.</summary>
public sealed class SketchAggregateTests : IDisposable
{
    private readonly CliHarness _cli = new();

    // Values 4, 2.5, 4 in the first window of each kind (key "/a"); see WindowAggregateTests for the windows.
    public static TheoryData<string, string[], string[]> Kinds => new()
    {
        { "tumbling:10s", [Ev(1000, "4"), Ev(5000, "2.5"), Ev(9000, "4"), Ev(12000, "-2")], [Win(0, 10000, 3), Win(10000, 20000, 1)] },
        { "sliding:10s:5s", [Ev(6000, "4"), Ev(7000, "2.5"), Ev(8000, "4")], [Win(0, 10000, 3), Win(5000, 15000, 3)] },
        { "session:5s", [Ev(1000, "4"), Ev(3000, "2.5"), Ev(7000, "4"), Ev(20000, "-2")], [Win(1000, 12000, 3), Win(20000, 25000, 1)] },
    };

    private static string Win(long start, long end, long count) => $"{start}|{end}|{count}";

    private static (string Window, string Value) Parse(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var r = doc.RootElement;
        r.EnumerateObject().Select(p => p.Name).Should().Equal("key", "start", "end", "value", "count");
        return (Win(r.GetProperty("start").GetInt64(), r.GetProperty("end").GetInt64(), r.GetProperty("count").GetInt64()), r.GetProperty("value").GetRawText());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Top_k_is_a_json_array_of_item_count_and_error_most_frequent_first(string window, string[] input, string[] windows)
    {
        var run = await _cli.RunAsync(input, window, "data.url", "topk:2:data.v");

        run.ShouldSucceed();
        var results = run.Output.Select(Parse).ToList();
        results.Select(r => r.Window).Should().Equal(windows);
        results[0].Value.Should().Be("""[{"item":4,"count":2,"error":0},{"item":2.5,"count":1,"error":0}]""", "items are the values' JSON, exact below the capacity");
        if (results[1].Window.EndsWith("|1", StringComparison.Ordinal))
        {
            results[1].Value.Should().Be("""[{"item":-2,"count":1,"error":0}]""");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Percentiles_are_a_json_object_keyed_p_and_the_percentage(string window, string[] input, string[] windows)
    {
        var run = await _cli.RunAsync(input, window, "data.url", "percentiles:0,0.5,0.95,0.999,1:data.v");

        run.ShouldSucceed();
        var results = run.Output.Select(Parse).ToList();
        results.Select(r => r.Window).Should().Equal(windows);

        // Sorted 2.5, 4, 4: the quantile q is the value of rank floor(q·2); exact for a small window.
        results[0].Value.Should().Be("""{"p0":2.5,"p50":4,"p95":4,"p99.9":4,"p100":4}""");
    }

    [Fact]
    public async Task String_items_are_written_as_json_strings_and_equal_strings_are_one_item()
    {
        string[] input = [Ev(1000, url: "/a"), Ev(2000, url: "/b"), Ev(3000, url: "/\\u0061"), Ev(4000, url: "/q\\\""), Ev(5000, url: "/q\\\""), Ev(6000, url: "/q\\\"")];

        var run = await _cli.RunAsync(input, "tumbling:10s", "source", "topk:5:data.url");

        run.ShouldSucceed();
        run.Output.Should().Equal(
            [Result("web", 0, 10000, """[{"item":"/q\"","count":3,"error":0},{"item":"/a","count":2,"error":0},{"item":"/b","count":1,"error":0}]""", 6)],
            "'/\\u0061' is '/a', and a quote in an item is escaped");
    }

    [Fact]
    public async Task Past_the_capacity_every_count_holds_its_error_bound_against_the_true_count()
    {
        // 3,000 events over 400 URLs (skewed) in one window: past top-3's capacity of 100 distinct items.
        var random = new Random(5);
        var urls = Enumerable.Range(0, 3000).Select(_ => "/p" + (int)Math.Floor(Math.Pow(random.NextDouble(), 4) * 400)).ToList();
        var input = urls.Select((u, i) => Ev(1000 + i, url: u)).ToList();

        var run = await _cli.RunAsync(input, "tumbling:1h", "source", "topk:3:data.url");

        run.ShouldSucceed();
        var exact = urls.GroupBy(u => u).ToDictionary(g => g.Key, g => (long)g.Count());
        using var doc = JsonDocument.Parse(run.Output.Single());
        var top = doc.RootElement.GetProperty("value").EnumerateArray().Select(e => (Item: e.GetProperty("item").GetString()!, Count: e.GetProperty("count").GetInt64(), Error: e.GetProperty("error").GetInt64())).ToList();
        top.Should().HaveCount(3);
        top.Select(t => t.Count).Should().BeInDescendingOrder();
        top.Should().OnlyContain(t => t.Count >= exact[t.Item] && t.Count - t.Error <= exact[t.Item] && t.Error <= 3000 / 100);
        top.Select(t => t.Item).Should().Contain(exact.OrderByDescending(e => e.Value).First().Key, "the most frequent URL clears the bound");
    }

    [Fact]
    public async Task A_percentile_value_that_is_not_a_number_is_dead_lettered_with_why()
    {
        var run = await _cli.RunAsync([Ev(1000, "4"), Ev(2000, "\"slow\"")], "tumbling:10s", "data.url", "percentiles:0.5:data.v");

        run.ShouldSucceed();
        run.Output.Should().Equal(Result("/a", 0, 10000, """{"p50":4}""", 1));
        run.DeadLetters.Should().ContainSingle().Which.Should().Contain("value \\\"data.v\\\" is not a number");
    }

    public static TheoryData<string, string> BadSpecs => new()
    {
        { "topk:data.url", "bad --agg 'topk:data.url': expected topk:K:PATH, such as topk:10:data.url" },
        { "topk:0:data.url", "bad --agg 'topk:0:data.url': K '0' must be an integer from 1 to 10000" },
        { "topk:ten:data.url", "K 'ten' must be an integer from 1 to 10000" },
        { "topk:-3:data.url", "K '-3' must be an integer" },
        { "topk:10:", "bad --agg 'topk:10:': '' is not a dotted path such as data.amount" },
        { "percentiles:data.ms", "bad --agg 'percentiles:data.ms': expected percentiles:Q1,Q2,...:PATH, such as percentiles:0.5,0.95:data.loadMs" },
        { "percentiles:95:data.ms", "quantile '95' must be a number from 0 to 1, such as 0.95 for p95" },
        { "percentiles:0.5,,0.9:data.ms", "quantile '' must be a number from 0 to 1" },
        { "percentiles:-0.5:data.ms", "quantile '-0.5' must be a number from 0 to 1" },
        { "percentiles:0.5,0.50:data.ms", "quantile '0.50' is named twice (p50)" },
        { "percentiles:0.5:data..ms", "'data..ms' is not a dotted path" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public async Task A_bad_sketch_spec_exits_with_2_naming_what_is_wrong(string agg, string message)
    {
        var run = await _cli.RunArgsAsync(_cli.Args("tumbling:10s", "data.url", agg));

        run.ShouldFailWith(2, message);
        File.Exists(_cli.OutputPath).Should().BeFalse();
    }

    [Theory]
    [InlineData(0.5, "p50")]
    [InlineData(0.95, "p95")]
    [InlineData(0.999, "p99.9")]
    [InlineData(0.9999, "p99.99")]
    [InlineData(0, "p0")]
    [InlineData(1, "p100")]
    [InlineData(0.125, "p12.5")]
    public void A_quantile_is_keyed_p_and_its_percentage_in_the_shortest_form(double q, string key) =>
        AggregateSpec.Key(q).Should().Be(key, q.ToString(CultureInfo.InvariantCulture));

    public void Dispose() => _cli.Dispose();
}
