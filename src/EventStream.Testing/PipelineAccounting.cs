using System.Globalization;

namespace EventStream.Testing;

/// <summary>
/// The accounting invariant of a pipeline, as one assertion: every event brought in (accepted, fanned out, replayed, or
/// a window result) is taken out exactly once (delivered, filtered, dead-lettered, late, or windowed — absorbed into a
/// window, whose results are new events), or is still waiting for a retry's back-off.
/// </summary>
public static class PipelineAccounting
{
    /// <summary>
    /// Checks <c>Accepted + FannedOut + Replayed + WindowResults = Delivered + Filtered + DeadLettered + Late + Duplicates + Windowed +
    /// <paramref name="waitingForRetry"/></c>, and that the snapshot's <see cref="PipelineMetrics.InFlight"/> is
    /// <paramref name="waitingForRetry"/>. Use it on a snapshot taken when the pipeline is quiescent (after a
    /// <see cref="PipelineTestDriver{TIn, TOut}"/> step, or after the pipeline completed: then nothing waits).
    /// </summary>
    /// <param name="metrics">The snapshot.</param>
    /// <param name="waitingForRetry">How many events wait for a retry's back-off (0 once the pipeline has completed).</param>
    /// <exception cref="PipelineAccountingException">The two sides differ; the message names every term.</exception>
    public static void AssertBalanced(PipelineMetrics metrics, long waitingForRetry = 0)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentOutOfRangeException.ThrowIfNegative(waitingForRetry);
        var broughtIn = metrics.Accepted + metrics.FannedOut + metrics.Replayed + metrics.WindowResults;
        var takenOut = metrics.Delivered + metrics.Filtered + metrics.DeadLettered + metrics.Late + metrics.Duplicates + metrics.Windowed;
        if (broughtIn == takenOut + waitingForRetry && metrics.InFlight == waitingForRetry)
        {
            return;
        }

        var difference = broughtIn - takenOut - waitingForRetry;
        var verdict = difference switch
        {
            > 0 => string.Create(CultureInfo.InvariantCulture, $"{difference} event(s) unaccounted for (brought in, never taken out)"),
            < 0 => string.Create(CultureInfo.InvariantCulture, $"{-difference} event(s) taken out more than once (or never brought in)"),
            _ => string.Create(CultureInfo.InvariantCulture, $"the sides match, but the snapshot says {metrics.InFlight} in flight where {waitingForRetry} wait for a retry"),
        };
        throw new PipelineAccountingException(string.Create(
            CultureInfo.InvariantCulture,
            $"Pipeline '{metrics.Pipeline}' does not balance: {verdict}. Brought in {broughtIn} = accepted {metrics.Accepted} + fanned out {metrics.FannedOut} + replayed {metrics.Replayed} + window results {metrics.WindowResults}; taken out {takenOut + waitingForRetry} = delivered {metrics.Delivered} + filtered {metrics.Filtered} + dead-lettered {metrics.DeadLettered} + late {metrics.Late} + duplicates {metrics.Duplicates} + windowed {metrics.Windowed} + waiting for a retry {waitingForRetry}."));
    }
}
