using EventStream.Windowing.State;
using System.Buffers;
using FluentAssertions;
using Xunit;

namespace EventStream.Tests.Windowing;

public sealed class StateCodecTests
{
    [Theory]
    [InlineData(100, 0, 801)]        // exact: a tag and 8 bytes per hash
    [InlineData(3_000, 1, 9_000)]    // a sketch with under a third of its registers set: sparse, 3 bytes each
    [InlineData(200_000, 2, 16_385)] // most registers set: all of them
    public void A_distinct_counter_reads_back_the_same_in_each_of_its_encodings(int values, byte tag, int maxBytes)
    {
        var counter = new DistinctCounter();
        for (var i = 0; i < values; i++)
        {
            counter.Add(i);
        }

        var bytes = Write(StateCodec.For<DistinctCounter>(), counter);
        var read = StateCodec.For<DistinctCounter>().Read(bytes);

        bytes[0].Should().Be(tag);
        bytes.Length.Should().BeLessThanOrEqualTo(maxBytes);
        read.Count.Should().Be(counter.Count);
        read.IsExact.Should().Be(counter.IsExact);

        // It goes on counting exactly as the original does.
        var more = new DistinctCounter();
        for (var i = values / 2; i < values + 5_000; i++)
        {
            more.Add(i);
        }

        read.Merge(more);
        counter.Merge(more);
        read.Count.Should().Be(counter.Count);
    }

    [Fact]
    public void A_sum_keeps_its_compensation_so_it_goes_on_adding_exactly_as_the_original()
    {
        var sum = default(SumAccumulator);
        for (var i = 0; i < 1000; i++)
        {
            sum = sum.Add(0.1);
        }

        var read = StateCodec.For<SumAccumulator>().Read(Write(StateCodec.For<SumAccumulator>(), sum));
        for (var i = 0; i < 1000; i++)
        {
            sum = sum.Add(0.1);
            read = read.Add(0.1);
        }

        read.Should().Be(sum);
    }

    [Fact]
    public void Keys_and_other_types_round_trip_and_bad_bytes_are_named()
    {
        RoundTrip("héllo {tag} ∞");
        RoundTrip(string.Empty);
        RoundTrip(long.MinValue);
        RoundTrip(-7);
        RoundTrip(double.NaN);
        RoundTrip(Guid.NewGuid());
        RoundTrip(new PageKey("site-1", "/a?b=c"));

        var wrongLength = () => StateCodec.For<long>().Read(new byte[3]);
        wrongLength.Should().Throw<FormatException>().WithMessage("A long state value has 8 bytes; this one has 3.");
        var notACounter = () => StateCodec.For<DistinctCounter>().Read([9, 1, 2]);
        notACounter.Should().Throw<FormatException>().WithMessage("Not a distinct-count state value (3 bytes, tag 9).");
    }

    public sealed record PageKey(string Site, string Path);

    private static void RoundTrip<T>(T value) => StateCodec.For<T>().Read(Write(StateCodec.For<T>(), value)).Should().Be(value);

    private static byte[] Write<T>(IStateCodec<T> codec, T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        codec.Write(value, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An accumulator System.Text.Json writes but cannot fill back: its setters are private.</summary>
    public sealed class Sealed
    {
        public long Count { get; private set; }

        public Sealed Add()
        {
            Count++;
            return this;
        }
    }

    [Fact]
    public void A_type_that_JSON_writes_but_cannot_read_back_is_refused_at_its_first_filled_value_naming_it()
    {
        // Its empty value reads back right (the check at Build() passes); a filled one would be restored as empty.
        var codec = StateCodec.For<Sealed>();
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        codec.Write(new Sealed(), buffer);

        var filled = () => codec.Write(new Sealed().Add(), new System.Buffers.ArrayBufferWriter<byte>());

        filled.Should().Throw<InvalidOperationException>().WithMessage("A Sealed does not read back through System.Text.Json as it was written ({\"count\":1} reads back as {\"count\":0})*[JsonInclude]*");
    }
}
