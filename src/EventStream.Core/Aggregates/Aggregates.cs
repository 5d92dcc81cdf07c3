namespace EventStream;

/// <summary>The built-in aggregates: count, sum, average, min, max, distinct count, and your own from four functions.</summary>
public static class Aggregates
{
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
