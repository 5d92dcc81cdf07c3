using System.Buffers;
using EventStream.Windowing.State;

namespace EventStream;

/// <summary>
/// A DDSketch (Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable quantile sketch with relative-error
/// guarantees", VLDB 2019): the accumulator of <see cref="Aggregates.Percentiles{T}(Func{T, double}, double[])"/>.
/// <para>
/// Up to <see cref="PercentilesOptions.ExactLimit"/> values it keeps the values themselves and its quantiles are exact.
/// Past that, a positive value <c>x</c> is counted in bucket <c>ceil(log_γ x)</c> with γ = (1 + α) / (1 − α), and a
/// quantile is read as the bucket's middle, so it is within α·|x| of the exact value <c>x</c>. Negative values have a
/// store of their own (mirrored), zero a count of its own (so does any value smaller in magnitude than about 1e-307,
/// read back as 0). Each store keeps at most <see cref="PercentilesOptions.MaxBuckets"/> buckets: past that the buckets of
/// the smallest magnitudes are folded into one, so only the quantiles that fall in them lose the guarantee (at α = 1 %
/// 2,048 buckets span a ratio of 10^17 between the largest and smallest magnitude, so this takes extreme data).
/// The exact minimum and maximum are kept too, and estimates are clamped to them.
/// </para>
/// <para>
/// The quantile q of n values is the value of rank <c>floor(q·(n − 1))</c> (0-based) in sorted order, in both modes.
/// Merging adds bucket counts, so the result depends only on the values added, never on the order of adds and merges.
/// </para>
/// </summary>
public sealed class QuantileSketch
{
    // Below this magnitude a value counts as zero: the logarithm's index stays far inside an int.
    private const double MinIndexable = 1e-307;

    private readonly double _multiplier;
    private readonly double _gamma;
    private List<double>? _exact = [];

    // The bucket of each exact value, computed as it is added: turning into a sketch (which a sliding window's merges
    // do again and again) then takes no logarithms. 0 for zero; the index + 1 for a positive value, −(index + 1) for a
    // negative one... as a long, so the full int range of indices fits.
    private List<long>? _exactBuckets = [];
    private Store? _positive;
    private Store? _negative;
    private long _zero;

    /// <summary>Creates an empty sketch.</summary>
    /// <param name="options">The accuracy and limits; <see langword="null"/> for the defaults.</param>
    public QuantileSketch(PercentilesOptions? options = null)
    {
        options ??= new PercentilesOptions();
        options.Validate();
        RelativeAccuracy = options.RelativeAccuracy;
        MaxBuckets = options.MaxBuckets;
        ExactLimit = options.ExactLimit;
        _gamma = (1 + RelativeAccuracy) / (1 - RelativeAccuracy);
        _multiplier = 1 / Math.Log(_gamma);
    }

    /// <summary>Gets the relative accuracy α.</summary>
    public double RelativeAccuracy { get; }

    /// <summary>Gets the most buckets each sign's store keeps.</summary>
    public int MaxBuckets { get; }

    /// <summary>Gets up to how many values the sketch keeps them exactly.</summary>
    public int ExactLimit { get; }

    /// <summary>Gets the number of values added.</summary>
    public long Count { get; private set; }

    /// <summary>Gets whether the sketch still holds every value (its quantiles are exact).</summary>
    public bool IsExact => _exact is not null;

    /// <summary>Gets the smallest value added (<see cref="double.NaN"/> when empty).</summary>
    public double Min { get; private set; } = double.NaN;

    /// <summary>Gets the largest value added (<see cref="double.NaN"/> when empty).</summary>
    public double Max { get; private set; } = double.NaN;

    /// <summary>Adds a value.</summary>
    /// <param name="value">The value: a finite number (NaN and infinities are refused).</param>
    public void Add(double value)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "A percentile value must be a finite number.");
        }

        Count++;
        Min = Count == 1 ? value : Math.Min(Min, value);
        Max = Count == 1 ? value : Math.Max(Max, value);
        if (_exact is { } exact)
        {
            if (exact.Count < ExactLimit)
            {
                exact.Add(value);
                _exactBuckets!.Add(Bucket(value));
                return;
            }

            ToSketch();
        }

        AddToBucket(Bucket(value), 1);
    }

    /// <summary>Merges another sketch into this one (the other is not changed). Both must have the same options.</summary>
    /// <param name="other">The other sketch.</param>
    public void Merge(QuantileSketch other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.RelativeAccuracy != RelativeAccuracy || other.MaxBuckets != MaxBuckets || other.ExactLimit != ExactLimit)
        {
            throw new ArgumentException(
                $"A sketch with α = {other.RelativeAccuracy}, {other.MaxBuckets} buckets, exact up to {other.ExactLimit} cannot be merged into one with α = {RelativeAccuracy}, {MaxBuckets} buckets, exact up to {ExactLimit}.",
                nameof(other));
        }

        if (other.Count == 0)
        {
            return;
        }

        Min = Count == 0 ? other.Min : Math.Min(Min, other.Min);
        Max = Count == 0 ? other.Max : Math.Max(Max, other.Max);
        var total = Count + other.Count;
        if (_exact is { } exact && (other._exact is null || total > ExactLimit))
        {
            ToSketch();
        }

        Count = total;
        if (_exact is { } mine)
        {
            mine.AddRange(other._exact!);
            _exactBuckets!.AddRange(other._exactBuckets!);
            return;
        }

        if (other._exactBuckets is { } theirs)
        {
            foreach (var bucket in theirs)
            {
                AddToBucket(bucket, 1);
            }

            return;
        }

        _zero += other._zero;
        if (other._positive is { } positive)
        {
            (_positive ??= new Store()).Merge(positive, MaxBuckets);
        }

        if (other._negative is { } negative)
        {
            (_negative ??= new Store()).Merge(negative, MaxBuckets);
        }
    }

    /// <summary>
    /// The value at quantile <paramref name="q"/>: of rank floor(q·(n − 1)) in sorted order; exact while
    /// <see cref="IsExact"/> and for q = 0 (the minimum) and q = 1 (the maximum), otherwise within
    /// <see cref="RelativeAccuracy"/> of it (relative to its magnitude).
    /// </summary>
    /// <param name="q">The quantile, from 0 to 1 (0.95 for p95).</param>
    /// <returns>The value, or <see cref="double.NaN"/> when the sketch is empty.</returns>
    public double Quantile(double q)
    {
        if (!(q is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "A quantile is between 0 and 1 (0.95 for p95).");
        }

        if (Count == 0)
        {
            return double.NaN;
        }

        if (q == 0)
        {
            return Min;
        }

        if (q == 1)
        {
            return Max;
        }

        var rank = q * (Count - 1);
        if (_exact is { } exact)
        {
            var sorted = exact.ToArray();
            Array.Sort(sorted);
            return sorted[(int)Math.Floor(rank)];
        }

        double estimate;
        var negatives = _negative?.Total ?? 0;
        if (rank < negatives)
        {
            // The most negative first: the negative store from its largest magnitude down.
            estimate = -Value(_negative!.IndexAtRankFromTop(rank));
        }
        else if (rank < negatives + _zero)
        {
            estimate = 0;
        }
        else
        {
            estimate = Value(_positive!.IndexAtRank(rank - negatives - _zero));
        }

        return Math.Clamp(estimate, Min, Max);
    }

    /// <summary>
    /// Writes the sketch as state: a format byte (1), the options (α as 8 bytes, buckets and exact limit as varints),
    /// the count, min and max, then tag 0 and the exact values (8 bytes each), or tag 1, the zero count and both stores
    /// (each its number of buckets, its lowest index, zigzag, and its counts as varints).
    /// </summary>
    internal void WriteTo(IBufferWriter<byte> output)
    {
        output.GetSpan(1)[0] = 1;
        output.Advance(1);
        StateVarint.WriteDouble(output, RelativeAccuracy);
        StateVarint.Write(output, (ulong)MaxBuckets);
        StateVarint.Write(output, (ulong)ExactLimit);
        StateVarint.Write(output, (ulong)Count);
        StateVarint.WriteDouble(output, Min);
        StateVarint.WriteDouble(output, Max);
        if (_exact is { } exact)
        {
            output.GetSpan(1)[0] = 0;
            output.Advance(1);
            foreach (var v in exact)
            {
                StateVarint.WriteDouble(output, v);
            }

            return;
        }

        output.GetSpan(1)[0] = 1;
        output.Advance(1);
        StateVarint.Write(output, (ulong)_zero);
        Store.Write(_positive, output);
        Store.Write(_negative, output);
    }

    /// <summary>Reads a sketch written by <see cref="WriteTo"/>.</summary>
    internal static QuantileSketch ReadFrom(ReadOnlySpan<byte> data)
    {
        var reader = new StateVarint.Reader(data, "percentiles");
        var format = reader.ReadByte();
        if (format != 1)
        {
            throw reader.Bad($"has format {format} (this version reads 1)");
        }

        PercentilesOptions options;
        try
        {
            options = new PercentilesOptions { RelativeAccuracy = reader.ReadDouble(), MaxBuckets = reader.ReadLength(int.MaxValue), ExactLimit = reader.ReadLength(int.MaxValue) };
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new FormatException("Not a percentiles state value: " + ex.Message, ex);
        }

        var sketch = new QuantileSketch(options) { Count = reader.ReadCount(), Min = reader.ReadDouble(), Max = reader.ReadDouble() };
        switch (reader.ReadByte())
        {
            case 0:
                if (sketch.Count > sketch.ExactLimit)
                {
                    throw reader.Bad($"holds {sketch.Count} exact values, more than its limit {sketch.ExactLimit}");
                }

                for (var i = 0; i < sketch.Count; i++)
                {
                    var v = reader.ReadDouble();
                    if (!double.IsFinite(v))
                    {
                        throw reader.Bad("holds a value that is not finite");
                    }

                    sketch._exact!.Add(v);
                    sketch._exactBuckets!.Add(sketch.Bucket(v));
                }

                break;
            case 1:
                sketch._exact = null;
                sketch._exactBuckets = null;
                sketch._zero = reader.ReadCount();
                sketch._positive = Store.Read(ref reader, sketch.MaxBuckets);
                sketch._negative = Store.Read(ref reader, sketch.MaxBuckets);
                if (sketch._zero + (sketch._positive?.Total ?? 0) + (sketch._negative?.Total ?? 0) != sketch.Count)
                {
                    throw reader.Bad("has bucket counts that do not add up to its count");
                }

                break;
            default:
                throw reader.Bad("has an unknown tag");
        }

        reader.End();
        return sketch;
    }

    private void ToSketch()
    {
        var buckets = _exactBuckets!;
        _exact = null;
        _exactBuckets = null;
        foreach (var bucket in buckets)
        {
            AddToBucket(bucket, 1);
        }
    }

    /// <summary>The bucket of a value: 0 for zero (or a magnitude below 1e-307), index + 1 if positive, −(index + 1) if negative.</summary>
    private long Bucket(double value) =>
        value >= MinIndexable ? Index(value) + 1L : value <= -MinIndexable ? -(Index(-value) + 1L) : 0;

    private void AddToBucket(long bucket, long count)
    {
        if (bucket > 0)
        {
            (_positive ??= new Store()).Add((int)(bucket - 1), count, MaxBuckets);
        }
        else if (bucket < 0)
        {
            (_negative ??= new Store()).Add((int)(-bucket - 1), count, MaxBuckets);
        }
        else
        {
            _zero += count;
        }
    }

    private int Index(double magnitude) => (int)Math.Ceiling(Math.Log(magnitude) * _multiplier);

    // The middle of bucket i, (γ^(i-1), γ^i]: within α of every value in it.
    private double Value(int index) => Math.Exp(index / _multiplier) * 2 / (1 + _gamma);

    /// <summary>Counts per bucket index over a contiguous range, folding the lowest indices past the maximum bucket count.</summary>
    private sealed class Store
    {
        private long[] _counts = [];
        private int _offset; // _counts[0] is bucket _offset
        private int _min = int.MaxValue;
        private int _max = int.MinValue;

        public long Total { get; private set; }

        public void Add(int index, long count, int maxBuckets)
        {
            if (Total == 0)
            {
                _min = _max = index;
                Cover(index, index);
            }
            else if (index > _max)
            {
                RaiseMax(index, maxBuckets);
            }
            else if (index < _min)
            {
                index = (int)Math.Max(index, (long)_max - maxBuckets + 1);
                if (index < _min)
                {
                    Cover(index, _max);
                    _min = index;
                }
            }

            _counts[index - _offset] += count;
            Total += count;
        }

        public void Merge(Store other, int maxBuckets)
        {
            if (other.Total == 0)
            {
                return;
            }

            // Nothing to fold (the common case): cover both ranges once and add the counts.
            var min = Math.Min(Total == 0 ? other._min : _min, other._min);
            var max = Math.Max(Total == 0 ? other._max : _max, other._max);
            if ((long)max - min < maxBuckets)
            {
                Cover(min, max);
                var theirs = other._counts.AsSpan(other._min - other._offset, other._max - other._min + 1);
                var ours = _counts.AsSpan(other._min - _offset, theirs.Length);
                for (var i = 0; i < theirs.Length; i++)
                {
                    ours[i] += theirs[i];
                }

                _min = min;
                _max = max;
                Total += other.Total;
                return;
            }

            // The top bucket first, so the range (and any folding) is settled before the rest is added.
            for (var i = other._max; i >= other._min; i--)
            {
                var c = other._counts[i - other._offset];
                if (c != 0)
                {
                    Add(i, c, maxBuckets);
                }
            }
        }

        /// <summary>The index of the bucket holding the value of 0-based rank <paramref name="rank"/>, from the lowest index up.</summary>
        public int IndexAtRank(double rank)
        {
            long seen = 0;
            for (var i = _min; i <= _max; i++)
            {
                seen += _counts[i - _offset];
                if (seen > rank)
                {
                    return i;
                }
            }

            return _max;
        }

        /// <summary>The same from the highest index down (the negative store: the most negative value first).</summary>
        public int IndexAtRankFromTop(double rank)
        {
            long seen = 0;
            for (var i = _max; i >= _min; i--)
            {
                seen += _counts[i - _offset];
                if (seen > rank)
                {
                    return i;
                }
            }

            return _min;
        }

        public static void Write(Store? store, IBufferWriter<byte> output)
        {
            if (store is null || store.Total == 0)
            {
                StateVarint.Write(output, 0);
                return;
            }

            StateVarint.Write(output, (ulong)((long)store._max - store._min + 1));
            StateVarint.WriteSigned(output, store._min);
            for (var i = store._min; i <= store._max; i++)
            {
                StateVarint.Write(output, (ulong)store._counts[i - store._offset]);
            }
        }

        public static Store? Read(ref StateVarint.Reader reader, int maxBuckets)
        {
            var length = reader.ReadLength(maxBuckets);
            if (length == 0)
            {
                return null;
            }

            var min = reader.ReadSigned();
            if (min < int.MinValue || min + length - 1 > int.MaxValue)
            {
                throw reader.Bad("has a bucket index out of range");
            }

            var store = new Store { _min = (int)min, _max = (int)(min + length - 1), _offset = (int)min, _counts = new long[length] };
            for (var i = 0; i < length; i++)
            {
                store._counts[i] = reader.ReadCount();
                store.Total += store._counts[i];
            }

            if (store._counts[0] == 0 || store._counts[^1] == 0)
            {
                throw reader.Bad("has an empty bucket at an end of its range");
            }

            return store;
        }

        private void RaiseMax(int index, int maxBuckets)
        {
            var lowest = (long)index - maxBuckets + 1;
            if (lowest > _min)
            {
                // Fold every bucket below the new lowest into it.
                long folded = 0;
                for (var i = _min; i <= _max && i < lowest; i++)
                {
                    folded += _counts[i - _offset];
                    _counts[i - _offset] = 0;
                }

                _min = (int)lowest;
                Cover(_min, index);
                _counts[_min - _offset] += folded;
            }
            else
            {
                Cover(_min, index);
            }

            _max = index;
        }

        /// <summary>Makes the array cover [lo, hi], keeping the counts of the current range that stay in it.</summary>
        private void Cover(int lo, int hi)
        {
            if (_counts.Length > 0 && lo >= _offset && hi < _offset + _counts.Length)
            {
                return;
            }

            var span = (long)hi - lo + 1;
            var slack = (int)Math.Min(Math.Max(16, span / 2), 1024);
            var newLo = (int)Math.Max(int.MinValue, (long)lo - slack);
            var newHi = (int)Math.Min(int.MaxValue, (long)hi + slack);
            var counts = new long[(long)newHi - newLo + 1];
            if (_counts.Length > 0)
            {
                var from = Math.Max(lo, _offset);
                var to = Math.Min(hi, _offset + _counts.Length - 1);
                if (from <= to)
                {
                    Array.Copy(_counts, from - _offset, counts, from - newLo, to - from + 1);
                }
            }

            _counts = counts;
            _offset = newLo;
        }
    }
}
