namespace EventStream;

/// <summary>The built-in aggregates: count, sum, average, min, max, distinct count, top-k, percentiles, and your own from four functions.</summary>
public static class Aggregates
{
    /// <summary>How many items a top-k summary monitors per item reported, unless told: <c>capacity = max(10·k, 100)</c>.</summary>
    public const int TopKCapacityPerItem = 10;

    /// <summary>The least capacity a top-k summary gets unless told.</summary>
    public const int TopKMinimumCapacity = 100;

    /// <summary>Counts the events.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <returns>The aggregator.</returns>
    public static IAggregator<T, long, long> Count<T>() => CountAggregator<T>.Instance;

    /// <summary>Sums a value of each event. The sum is exact for integers up to 2^53 and uses compensated (Kahan) summation otherwise.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="value">Selects the value.</param>
    /// <returns>The aggregator.</returns>
    public static IAggregator<T, SumAccumulator, double> Sum<T>(Func<T, double> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new SumAggregator<T>(value);
    }

    /// <summary>Averages a value of each event.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="value">Selects the value.</param>
    /// <returns>The aggregator.</returns>
    public static IAggregator<T, SumAccumulator, double> Average<T>(Func<T, double> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new AverageAggregator<T>(value);
    }

    /// <summary>The smallest value of the events.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="value">Selects the value.</param>
    /// <returns>The aggregator.</returns>
    public static IAggregator<T, double, double> Min<T>(Func<T, double> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new ExtremumAggregator<T>(value, max: false);
    }

    /// <summary>The largest value of the events.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="value">Selects the value.</param>
    /// <returns>The aggregator.</returns>
    public static IAggregator<T, double, double> Max<T>(Func<T, double> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new ExtremumAggregator<T>(value, max: true);
    }

    /// <summary>
    /// Counts the distinct values of the events: exact up to <see cref="DistinctCounter.ExactLimit"/> values, then a
    /// HyperLogLog sketch with 16,384 registers (standard error about 0.8 %, within 2 % in practice).
    /// </summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="value">Selects the value.</param>
    /// <returns>The aggregator.</returns>
    public static IAggregator<T, DistinctCounter, long> DistinctCount<T, TValue>(Func<T, TValue> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new DistinctAggregator<T, TValue>(value);
    }

    /// <summary>
    /// The <paramref name="k"/> most frequent items of the events, most frequent first, each with its count and the
    /// count's error bound (<see cref="TopKItem{TItem}"/>), by a mergeable Space-Saving summary (<see cref="TopKSummary{TItem}"/>)
    /// of <paramref name="capacity"/> items. Exact while a window holds at most <paramref name="capacity"/> distinct items;
    /// past that every count is at most its <see cref="TopKItem{TItem}.Error"/> above the true one, which is at most
    /// (events in the window) / <paramref name="capacity"/>, and every item whose true count is above that bound is monitored.
    /// </summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <typeparam name="TItem">The item type (a URL, a site, a tuple): compared with its default equality; a partitioned window stores it with its codec (System.Text.Json unless built in).</typeparam>
    /// <param name="k">How many items to report (at least 1).</param>
    /// <param name="item">Selects the item; it must not be <see langword="null"/>.</param>
    /// <param name="capacity">How many items the summary monitors, at least <paramref name="k"/>; <see langword="null"/> for max(10·k, 100).</param>
    /// <returns>The aggregator.</returns>
    public static IAggregator<T, TopKSummary<TItem>, IReadOnlyList<TopKItem<TItem>>> TopK<T, TItem>(int k, Func<T, TItem> item, int? capacity = null)
        where TItem : notnull
    {
        ArgumentNullException.ThrowIfNull(item);
        return new TopKAggregator<T, TItem>(k, TopKCapacity(k, capacity), item, null);
    }

    /// <summary>
    /// The <paramref name="k"/> items of the largest total weight (bytes, quantities), heaviest first, with the same
    /// guarantees as <see cref="TopK{T, TItem}(int, Func{T, TItem}, int?)"/> with weights for counts: every reported
    /// weight is at most its error above the true total, which is at most (total weight) / <paramref name="capacity"/>.
    /// </summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <typeparam name="TItem">The item type.</typeparam>
    /// <param name="k">How many items to report (at least 1).</param>
    /// <param name="item">Selects the item; it must not be <see langword="null"/>.</param>
    /// <param name="weight">Selects the event's weight: not negative (an event of weight 0 adds nothing).</param>
    /// <param name="capacity">How many items the summary monitors, at least <paramref name="k"/>; <see langword="null"/> for max(10·k, 100).</param>
    /// <returns>The aggregator.</returns>
    public static IAggregator<T, TopKSummary<TItem>, IReadOnlyList<TopKItem<TItem>>> TopK<T, TItem>(int k, Func<T, TItem> item, Func<T, long> weight, int? capacity = null)
        where TItem : notnull
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(weight);
        return new TopKAggregator<T, TItem>(k, TopKCapacity(k, capacity), item, weight);
    }

    /// <summary>
    /// Quantiles of a value of the events (p50, p95, p99: 0.5, 0.95, 0.99) by a mergeable DDSketch
    /// (<see cref="QuantileSketch"/>) with 1 % relative accuracy, exact for windows of up to 64 values; the quantile q of n
    /// values is the one of rank floor(q·(n − 1)) in sorted order. Zero and negative values are counted (a store per
    /// sign); NaN and infinities are refused (the event fails in the window stage).
    /// </summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="value">Selects the value.</param>
    /// <param name="quantiles">The quantiles, each from 0 to 1, at least one.</param>
    /// <returns>The aggregator; its result maps each quantile, in the order given, to its value (NaN for an empty window).</returns>
    public static IAggregator<T, QuantileSketch, IReadOnlyDictionary<double, double>> Percentiles<T>(Func<T, double> value, params double[] quantiles) =>
        Percentiles(value, new PercentilesOptions(), quantiles);

    /// <summary>Quantiles of a value of the events, as <see cref="Percentiles{T}(Func{T, double}, double[])"/>, with the sketch's accuracy and limits given.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="value">Selects the value.</param>
    /// <param name="options">The relative accuracy, the bucket limit and the exact limit.</param>
    /// <param name="quantiles">The quantiles, each from 0 to 1, at least one.</param>
    /// <returns>The aggregator.</returns>
    public static IAggregator<T, QuantileSketch, IReadOnlyDictionary<double, double>> Percentiles<T>(Func<T, double> value, PercentilesOptions options, params double[] quantiles)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(quantiles);
        options.Validate();
        if (quantiles.Length == 0)
        {
            throw new ArgumentException("Name at least one quantile (0.95 for p95).", nameof(quantiles));
        }

        foreach (var q in quantiles)
        {
            if (!(q is >= 0 and <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(quantiles), q, "A quantile is between 0 and 1 (0.95 for p95).");
            }
        }

        var copy = new PercentilesOptions { RelativeAccuracy = options.RelativeAccuracy, MaxBuckets = options.MaxBuckets, ExactLimit = options.ExactLimit };
        return new PercentilesAggregator<T>(value, copy, [.. quantiles.Distinct()]);
    }

    /// <summary>An aggregate from four functions.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <typeparam name="TAccumulator">The accumulator type.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    /// <param name="create">Creates an empty accumulator.</param>
    /// <param name="add">Adds an event (may change the accumulator in place and return it).</param>
    /// <param name="merge">Merges the second accumulator into the first (must not change the second).</param>
    /// <param name="result">Reads the result (must not change the accumulator).</param>
    /// <returns>The aggregator.</returns>
    public static IAggregator<T, TAccumulator, TResult> Create<T, TAccumulator, TResult>(
        Func<TAccumulator> create,
        Func<TAccumulator, T, TAccumulator> add,
        Func<TAccumulator, TAccumulator, TAccumulator> merge,
        Func<TAccumulator, TResult> result)
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(add);
        ArgumentNullException.ThrowIfNull(merge);
        ArgumentNullException.ThrowIfNull(result);
        return new DelegateAggregator<T, TAccumulator, TResult>(create, add, merge, result);
    }

    private static int TopKCapacity(int k, int? capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (capacity is { } c)
        {
            return c >= k ? c : throw new ArgumentOutOfRangeException(nameof(capacity), c, $"The capacity of a top-{k} summary must be at least {k}.");
        }

        return (int)Math.Min(int.MaxValue, Math.Max((long)k * TopKCapacityPerItem, TopKMinimumCapacity));
    }

    private sealed class TopKAggregator<T, TItem>(int k, int capacity, Func<T, TItem> item, Func<T, long>? weight) : IAggregator<T, TopKSummary<TItem>, IReadOnlyList<TopKItem<TItem>>>
        where TItem : notnull
    {
        public TopKSummary<TItem> Create() => new(capacity);

        public TopKSummary<TItem> Add(TopKSummary<TItem> accumulator, T item1)
        {
            var value = item(item1) ?? throw new ArgumentException("The top-k item selector returned null for this event; an item must have a value.", nameof(item1));
            if (weight is null)
            {
                accumulator.Add(value);
            }
            else
            {
                accumulator.Add(value, weight(item1));
            }

            return accumulator;
        }

        public TopKSummary<TItem> Merge(TopKSummary<TItem> left, TopKSummary<TItem> right)
        {
            left.Merge(right);
            return left;
        }

        public IReadOnlyList<TopKItem<TItem>> GetResult(TopKSummary<TItem> accumulator) => accumulator.Top(k);
    }

    private sealed class PercentilesAggregator<T>(Func<T, double> value, PercentilesOptions options, double[] quantiles) : IAggregator<T, QuantileSketch, IReadOnlyDictionary<double, double>>
    {
        public QuantileSketch Create() => new(options);

        public QuantileSketch Add(QuantileSketch accumulator, T item)
        {
            accumulator.Add(value(item));
            return accumulator;
        }

        public QuantileSketch Merge(QuantileSketch left, QuantileSketch right)
        {
            left.Merge(right);
            return left;
        }

        public IReadOnlyDictionary<double, double> GetResult(QuantileSketch accumulator)
        {
            var result = new Dictionary<double, double>(quantiles.Length);
            foreach (var q in quantiles)
            {
                result[q] = accumulator.Quantile(q);
            }

            return result.AsReadOnly();
        }
    }

    private sealed class CountAggregator<T> : IAggregator<T, long, long>
    {
        public static readonly CountAggregator<T> Instance = new();

        public long Create() => 0;

        public long Add(long accumulator, T item) => accumulator + 1;

        public long Merge(long left, long right) => left + right;

        public long GetResult(long accumulator) => accumulator;
    }

    private sealed class SumAggregator<T>(Func<T, double> value) : IAggregator<T, SumAccumulator, double>
    {
        public SumAccumulator Create() => default;

        public SumAccumulator Add(SumAccumulator accumulator, T item) => accumulator.Add(value(item));

        public SumAccumulator Merge(SumAccumulator left, SumAccumulator right) => left.Merge(right);

        public double GetResult(SumAccumulator accumulator) => accumulator.Sum;
    }

    private sealed class AverageAggregator<T>(Func<T, double> value) : IAggregator<T, SumAccumulator, double>
    {
        public SumAccumulator Create() => default;

        public SumAccumulator Add(SumAccumulator accumulator, T item) => accumulator.Add(value(item));

        public SumAccumulator Merge(SumAccumulator left, SumAccumulator right) => left.Merge(right);

        public double GetResult(SumAccumulator accumulator) => accumulator.Count == 0 ? double.NaN : accumulator.Sum / accumulator.Count;
    }

    private sealed class ExtremumAggregator<T>(Func<T, double> value, bool max) : IAggregator<T, double, double>
    {
        public double Create() => max ? double.NegativeInfinity : double.PositiveInfinity;

        public double Add(double accumulator, T item) => Pick(accumulator, value(item));

        public double Merge(double left, double right) => Pick(left, right);

        public double GetResult(double accumulator) => accumulator;

        private double Pick(double a, double b) => max ? Math.Max(a, b) : Math.Min(a, b);
    }

    private sealed class DistinctAggregator<T, TValue>(Func<T, TValue> value) : IAggregator<T, DistinctCounter, long>
    {
        public DistinctCounter Create() => new();

        public DistinctCounter Add(DistinctCounter accumulator, T item)
        {
            accumulator.Add(value(item));
            return accumulator;
        }

        public DistinctCounter Merge(DistinctCounter left, DistinctCounter right)
        {
            left.Merge(right);
            return left;
        }

        public long GetResult(DistinctCounter accumulator) => accumulator.Count;
    }

    private sealed class DelegateAggregator<T, TAccumulator, TResult>(
        Func<TAccumulator> create,
        Func<TAccumulator, T, TAccumulator> add,
        Func<TAccumulator, TAccumulator, TAccumulator> merge,
        Func<TAccumulator, TResult> result) : IAggregator<T, TAccumulator, TResult>
    {
        public TAccumulator Create() => create();

        public TAccumulator Add(TAccumulator accumulator, T item) => add(accumulator, item);

        public TAccumulator Merge(TAccumulator left, TAccumulator right) => merge(left, right);

        public TResult GetResult(TAccumulator accumulator) => result(accumulator);
    }
}
