namespace EventStream;

/// <summary>A running sum and count with Kahan compensation, for <see cref="Aggregates.Sum{T}"/> and <see cref="Aggregates.Average{T}"/>.</summary>
public readonly record struct SumAccumulator
{
    private readonly double _compensation;

    internal SumAccumulator(double sum, double compensation, long count)
    {
        Sum = sum;
        _compensation = compensation;
        Count = count;
    }

    /// <summary>Gets the Kahan compensation: the low-order part lost so far, subtracted from the next value.</summary>
    internal double Compensation => _compensation;

    /// <summary>Gets the sum.</summary>
    public double Sum { get; }

    /// <summary>Gets the number of values added.</summary>
    public long Count { get; }

    /// <summary>Adds a value.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The new accumulator.</returns>
    public SumAccumulator Add(double value)
    {
        var y = value - _compensation;
        var t = Sum + y;

        // Once the sum is no longer finite the compensation means nothing (∞ − ∞ would turn an overflow into NaN).
        return new SumAccumulator(t, double.IsFinite(t) ? (t - Sum) - y : 0, Count + 1);
    }

    /// <summary>Merges another accumulator.</summary>
    /// <param name="other">The other accumulator.</param>
    /// <returns>The merged accumulator.</returns>
    public SumAccumulator Merge(SumAccumulator other)
    {
        var y = other.Sum - _compensation - other._compensation;
        var t = Sum + y;
        return new SumAccumulator(t, double.IsFinite(t) ? (t - Sum) - y : 0, Count + other.Count);
    }
}
