namespace EventStream;

/// <summary>
/// Sees what leaves a pipeline, for the test driver (EventStream.Testing): each event a sink accepted, each window result
/// a window stage emitted, and each late event its late output accepted. Set on the definition before it is built; a
/// pipeline without one wraps nothing. Called on the pipeline's workers.
/// </summary>
internal interface IPipelineObserver
{
    /// <summary>The sink's handler completed for <paramref name="item"/> (the pipeline counts it as delivered).</summary>
    void Delivered(string stage, object? item);

    /// <summary>A window stage emitted <paramref name="result"/> (a <see cref="WindowResult{TKey, TValue}"/>).</summary>
    void WindowResult(string stage, object result);

    /// <summary>A window stage's <see cref="WindowOptions{T, TKey}.LateOutput"/> accepted <paramref name="item"/>.</summary>
    void LateOutput(string stage, object? item);
}
