using System.Buffers;
using EventStream.Windowing.State;

namespace EventStream.Tests.Sketches;

/// <summary>The sketches' state codecs: what a partitioned window commits and another worker restores.</summary>
public sealed class SketchCodecTests
{
    private static byte[] Write<T>(T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        StateCodec.For<T>().Write(value, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private static T RoundTrip<T>(T value) => StateCodec.For<T>().Read(Write(value));

    public sealed record Page(string Site, string Path);

    [Theory]
    [InlineData(50)]      // exact
    [InlineData(100_000)] // past capacity
    public void A_top_k_summary_reads_back_reporting_and_going_on_exactly_as_the_original(int count)
    {
        var items = SketchData.Zipf(seed: 61, count, distinct: 2_000);
        var summary = new TopKSummary<string>(100);
        foreach (var i in items)
        {
            summary.Add("/p" + i);
        }

        var read = RoundTrip(summary);
        read.Top(100).Should().Equal(summary.Top(100));
        (read.Total, read.ErrorBound, read.Capacity).Should().Be((summary.Total, summary.ErrorBound, summary.Capacity));
        Write(read).Should().Equal(Write(summary));

        // Both go on the same way: adds that evict, and a merge.
        var more = new TopKSummary<string>(100);
        foreach (var i in SketchData.Zipf(seed: 62, 5_000, distinct: 3_000))
        {
            summary.Add("/q" + i);
            read.Add("/q" + i);
            more.Add("/p" + i);
        }

        summary.Merge(more);
        read.Merge(more);
        read.Top(100).Should().Equal(summary.Top(100));
        Write(read).Should().Equal(Write(summary));
    }

    [Fact]
    public void A_top_k_summary_of_records_stores_its_items_as_json_and_of_numbers_compactly()
    {
        var pages = new TopKSummary<Page>(10);
        pages.Add(new Page("a", "/x"), 3);
        pages.Add(new Page("b", "/y"));
        RoundTrip(pages).Top(10).Should().Equal(pages.Top(10));

        var numbers = new TopKSummary<long>(100);
        for (var i = 0; i < 100; i++)
        {
            numbers.Add(i % 10);
        }

        Write(numbers).Length.Should().BeLessThan(10 + (10 * (1 + 1 + 8 + 1 + 8)), "per item: count, error, hash, length, 8 bytes");
        RoundTrip(numbers).Top(3).Should().Equal(numbers.Top(3));
    }

    [Fact]
    public void Two_items_with_the_same_hash_stay_apart_through_a_merge()
    {
        // A 64-bit collision cannot be found by hand, so the state is written with one: "x" and "y" both hash to 7.
        static byte[] State(params (string Item, byte Count)[] items)
        {
            var bytes = new List<byte> { 1, 10, (byte)items.Sum(i => i.Count), 0, (byte)items.Length };
            foreach (var (item, count) in items)
            {
                bytes.AddRange([count, 0, 7, 0, 0, 0, 0, 0, 0, 0, (byte)item.Length]);
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(item));
            }

            return [.. bytes];
        }

        var codec = StateCodec.For<TopKSummary<string>>();
        var left = codec.Read(State(("x", 3), ("y", 2)));
        var right = codec.Read(State(("y", 4), ("z", 1)));
        left.Merge(right);

        left.Top(10).Should().Equal(new TopKItem<string>("y", 6, 0), new TopKItem<string>("x", 3, 0), new TopKItem<string>("z", 1, 0));
        left.Add("x");
        left.Top(1).Should().Equal(new TopKItem<string>("y", 6, 0));
        left.Top(2)[1].Should().Be(new TopKItem<string>("x", 4, 0));
    }

    [Theory]
    [InlineData(10)]      // exact values
    [InlineData(100_000)] // buckets
    public void A_quantile_sketch_reads_back_with_the_same_quantiles_and_merges(int count)
    {
        var values = SketchData.Signed(seed: 63, count);
        var sketch = new QuantileSketch(new PercentilesOptions { RelativeAccuracy = 0.02, ExactLimit = 20 });
        foreach (var v in values)
        {
            sketch.Add(v);
        }

        var read = RoundTrip(sketch);
        double[] qs = [0, 0.1, 0.5, 0.9, 0.99, 1];
        qs.Select(read.Quantile).Should().Equal(qs.Select(sketch.Quantile));
        (read.RelativeAccuracy, read.ExactLimit, read.IsExact, read.Count).Should().Be((0.02, 20, sketch.IsExact, sketch.Count));
        Write(read).Should().Equal(Write(sketch));

        var more = new QuantileSketch(new PercentilesOptions { RelativeAccuracy = 0.02, ExactLimit = 20 });
        foreach (var v in SketchData.LogNormal(seed: 64, 1_000))
        {
            more.Add(v);
        }

        read.Merge(more);
        sketch.Merge(more);
        qs.Select(read.Quantile).Should().Equal(qs.Select(sketch.Quantile));
        if (count > 1_000)
        {
            Write(sketch).Length.Should().BeLessThan(2_000, "a few hundred buckets of varint counts");
        }
    }

    [Fact]
    public void Bad_or_future_sketch_bytes_are_refused_with_what_they_are_named()
    {
        var future = () => StateCodec.For<QuantileSketch>().Read([2, 0, 0]);
        future.Should().Throw<FormatException>().WithMessage("Not a percentiles state value: it has format 2 (this version reads 1).");
        var cut = Write(new TopKSummary<string>(10));
        var shortTopK = () => StateCodec.For<TopKSummary<string>>().Read(cut.AsSpan(0, 2));
        shortTopK.Should().Throw<FormatException>().WithMessage("Not a top-k state value*");
        var sketch = new QuantileSketch();
        sketch.Add(1);
        var longer = Write(sketch).Append((byte)7).ToArray();
        var trailing = () => StateCodec.For<QuantileSketch>().Read(longer);
        trailing.Should().Throw<FormatException>().WithMessage("*1 bytes past its end*");
    }
}
