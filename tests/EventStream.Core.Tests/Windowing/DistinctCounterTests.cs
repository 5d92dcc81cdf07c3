
namespace EventStream.Tests.Windowing;

public class DistinctCounterTests
{
    [Theory]
    [InlineData(5_000)]
    [InlineData(50_000)]
    [InlineData(1_000_000)]
    public void The_distinct_count_is_exact_for_small_sets_and_within_two_percent_for_large_ones(int n)
    {
        var small = new DistinctCounter();
        for (var i = 0; i < 1_000; i++)
        {
            small.Add($"user-{i % 700}");
        }

        small.IsExact.Should().BeTrue();
        small.Count.Should().Be(700);

        var large = new DistinctCounter();
        for (var i = 0; i < n; i++)
        {
            large.Add($"user-{i}");
            large.Add($"user-{i / 2}");
        }

        large.IsExact.Should().BeFalse("{0} values are past the exact range", n);
        ((double)large.Count).Should().BeApproximately(n, n * 0.02, "HyperLogLog with 2^14 registers at n = {0}", n);
    }

    [Fact]
    public void Merging_distinct_counters_counts_the_union()
    {
        var a = new DistinctCounter();
        var b = new DistinctCounter();
        for (var i = 0; i < 30_000; i++)
        {
            a.Add(i);
            b.Add(i + 10_000);
        }

        var exact = new DistinctCounter();
        exact.Add(1);
        a.Merge(b);
        a.Merge(exact);

        ((double)a.Count).Should().BeApproximately(40_000, 800);
        b.Count.Should().BeInRange(29_000, 31_000, "merging must not change the merged-from counter");
    }

    public sealed record Visitor(string Site, int User);

    [Fact]
    public void A_value_is_counted_by_a_hash_that_is_the_same_in_every_process()
    {
        // A partitioned window's counter is restored by another worker, which must hash a value as the one that added it
        // did. These numbers are the hash function's, fixed: GetHashCode (which the counter used for values other than
        // strings and integers) is seeded per process for records, tuples and strings inside them, so no constant held.
        DistinctCounter.Hash(new Visitor("a.example", 7)).Should().Be(9754385318440737272UL);
        DistinctCounter.Hash(("a.example", 7)).Should().Be(5657583365902386106UL);
        DistinctCounter.Hash(("a.example", 7)).Should().NotBe(DistinctCounter.Hash(("a.example", 8)), "a tuple is counted by its fields");
        DistinctCounter.Hash(Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964ff")).Should().Be(12981165050558216740UL);
        DistinctCounter.Hash("a.example").Should().Be(11601774690352709583UL, "strings keep the hash they had");
        DistinctCounter.Hash(1.0m).Should().Be(DistinctCounter.Hash(1.00m), "equal decimals count once");
        DistinctCounter.Hash(-0.0).Should().Be(DistinctCounter.Hash(0.0));

        var counter = new DistinctCounter();
        counter.Add(new Visitor("a.example", 7));
        counter.Add(new Visitor("a.example", 7));
        counter.Add(new Visitor("a.example", 8));
        counter.Count.Should().Be(2);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(3_000)]
    [InlineData(200_000)]
    public void In_JSON_a_counter_is_its_state_and_reads_back_counting_and_merging_the_same(int users)
    {
        // Inside a user-defined accumulator, which a partitioned window stores as JSON: exact, sparse and dense states.
        var counter = new DistinctCounter();
        for (var i = 0; i < users; i++)
        {
            counter.Add("user-" + i);
        }

        var json = System.Text.Json.JsonSerializer.Serialize(new { users = counter });
        json.Should().StartWith("{\"users\":\"");
        var back = System.Text.Json.JsonSerializer.Deserialize<DistinctCounter>(System.Text.Json.JsonSerializer.Deserialize<System.Text.Json.JsonElement>(json).GetProperty("users"))!;

        back.Count.Should().Be(counter.Count);
        back.IsExact.Should().Be(counter.IsExact);
        var more = new DistinctCounter();
        more.Add("user-0");
        more.Add("someone else");
        back.Merge(more);
        counter.Merge(more);
        back.Count.Should().Be(counter.Count);
        var notState = () => System.Text.Json.JsonSerializer.Deserialize<DistinctCounter>("12");
        notState.Should().Throw<System.Text.Json.JsonException>().WithMessage("*base64 string of its state*");
    }
}
