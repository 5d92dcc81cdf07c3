namespace EventStream;

/// <summary>
/// Adds typed stages to a pipeline that takes <typeparamref name="TIn"/> and, so far, produces <typeparamref name="TOut"/>.
/// Each call returns the builder for the next call; chain them. Problems are collected and reported together by
/// <see cref="Build"/>, in one <see cref="PipelineConfigurationException"/>.
/// </summary>
/// <typeparam name="TIn">The pipeline's input type.</typeparam>
/// <typeparam name="TOut">The output type of the last stage added.</typeparam>
public sealed class PipelineBuilder<TIn, TOut>
{
    private readonly PipelineDefinition _definition;
    private readonly int _position;

    internal PipelineBuilder(PipelineDefinition definition, int position)
    {
        _definition = definition;
        _position = position;
    }

    /// <summary>Gets the definition collected so far (for partitioned execution, which assembles it in parts).</summary>
    internal PipelineDefinition Definition => _definition;

    /// <summary>Adds a synchronous transform (<typeparamref name="TOut"/> → <typeparamref name="TNext"/>).</summary>
    /// <typeparam name="TNext">The output type.</typeparam>
    /// <param name="name">The stage name, unique in the pipeline.</param>
    /// <param name="transform">The transform. Throwing retries, then dead-letters the event.</param>
    /// <param name="options">The stage options.</param>
    /// <returns>The builder for the next stage.</returns>
    public PipelineBuilder<TIn, TNext> Transform<TNext>(string name, Func<TOut, TNext> transform, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(transform);
        return Add<TNext>(name, StageKind.Transform, options, (rt, next) => new TransformOperator<TOut, TNext>(rt, next!, transform));
    }

    /// <summary>Adds a filter: events for which <paramref name="predicate"/> is false are dropped and counted as filtered.</summary>
    /// <param name="name">The stage name, unique in the pipeline.</param>
    /// <param name="predicate">Keeps an event when true.</param>
    /// <param name="options">The stage options.</param>
    /// <returns>The builder for the next stage.</returns>
    public PipelineBuilder<TIn, TOut> Filter(string name, Func<TOut, bool> predicate, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return Add<TOut>(name, StageKind.Filter, options, (rt, next) => new FilterOperator<TOut>(rt, next!, predicate));
    }

    /// <summary>
    /// Adds a deduplicate stage: an event whose id was already seen within <paramref name="within"/> of event time (before
    /// or after it) is dropped and counted in <see cref="PipelineMetrics.Duplicates"/>; the others pass on. An event whose
    /// id cannot be read (the selector throws or returns <see langword="null"/>) is dead-lettered.
    /// </summary>
    /// <remarks>
    /// State is bounded by the horizon: the stage keeps each id with the event time it was last seen at, and forgets
    /// ids older than the newest event time it has seen less <paramref name="within"/> (its watermark). So a resend that
    /// arrives after the stream has moved on by more than <paramref name="within"/> of event time is not caught; choose
    /// <paramref name="within"/> to cover how long your sources resend. Not supported in partitioned execution yet.
    /// </remarks>
    /// <param name="name">The stage name, unique in the pipeline.</param>
    /// <param name="id">Reads an event's id (say, <c>e =&gt; e.Id</c>).</param>
    /// <param name="timestamp">Reads an event's event time.</param>
    /// <param name="within">How far apart in event time two events with the same id are duplicates; positive.</param>
    /// <param name="options">The stage options.</param>
    /// <returns>The builder for the next stage.</returns>
    public PipelineBuilder<TIn, TOut> Deduplicate(string name, Func<TOut, string?> id, Func<TOut, DateTimeOffset> timestamp, TimeSpan within, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(timestamp);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(within, TimeSpan.Zero);
        var horizon = (long)within.TotalMilliseconds;
        return Add<TOut>(name, StageKind.Deduplicate, options, (rt, next) => new DeduplicateOperator<TOut>(rt, next!, id, timestamp, horizon));
    }

    /// <summary>
    /// Adds an async enrichment (I/O such as a lookup). A call that completes synchronously (a cache hit) costs no more
    /// than a transform. With <see cref="StageOptions.Parallelism"/> above 1 the stage runs behind a queue of its own,
    /// that many calls run at once, and results keep their input order.
    /// Each call gets a token that is cancelled when the call passes its timeout or the pipeline is cancelled.
    /// </summary>
    /// <typeparam name="TNext">The output type.</typeparam>
    /// <param name="name">The stage name, unique in the pipeline.</param>
    /// <param name="enrich">The enrichment.</param>
    /// <param name="options">The stage options.</param>
    /// <returns>The builder for the next stage.</returns>
    [System.Runtime.CompilerServices.OverloadResolutionPriority(1)] // an async lambda fits both: it gets the ValueTask one
    public PipelineBuilder<TIn, TNext> Enrich<TNext>(string name, Func<TOut, CancellationToken, ValueTask<TNext>> enrich, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(enrich);
        var parallelism = options?.Parallelism ?? 1;
        return Add<TNext>(name, StageKind.Enrich, options, (rt, next) => parallelism > 1
            ? new ParallelEnrichOperator<TOut, TNext>(rt, next!, enrich, parallelism)
            : new EnrichOperator<TOut, TNext>(rt, next!, enrich));
    }

    /// <summary>
    /// Adds an async enrichment whose handler returns a <see cref="Task{TResult}"/> (most client libraries' methods), as
    /// <see cref="Enrich{TNext}(string, Func{TOut, CancellationToken, ValueTask{TNext}}, StageOptions?)"/> does.
    /// </summary>
    /// <typeparam name="TNext">The output type.</typeparam>
    /// <param name="name">The stage name, unique in the pipeline.</param>
    /// <param name="enrich">The enrichment.</param>
    /// <param name="options">The stage options.</param>
    /// <returns>The builder for the next stage.</returns>
    public PipelineBuilder<TIn, TNext> Enrich<TNext>(string name, Func<TOut, CancellationToken, Task<TNext>> enrich, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(enrich);
        return Enrich(name, (item, ct) => new ValueTask<TNext>(enrich(item, ct)), options);
    }

    /// <summary>
    /// Adds a fan-out: each event becomes zero or more events. The results are gathered before any is passed on, so a
    /// handler that throws half-way emits nothing. An event that becomes none counts as filtered.
    /// </summary>
    /// <typeparam name="TNext">The output type.</typeparam>
    /// <param name="name">The stage name, unique in the pipeline.</param>
    /// <param name="fanOut">The expansion.</param>
    /// <param name="options">The stage options.</param>
    /// <returns>The builder for the next stage.</returns>
    public PipelineBuilder<TIn, TNext> FanOut<TNext>(string name, Func<TOut, IEnumerable<TNext>> fanOut, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(fanOut);
        return Add<TNext>(name, StageKind.FanOut, options, (rt, next) => new FanOutOperator<TOut, TNext>(rt, next!, fanOut));
    }

    /// <summary>
    /// Adds an event-time (or processing-time) window stage: events are grouped by key into tumbling, sliding or session
    /// windows and aggregated; each firing of each window flows on as a <see cref="WindowResult{TKey, TValue}"/>.
    /// Late events go to <see cref="WindowOptions{T, TKey}.LateOutput"/> (by default the dead-letter store).
    /// Semantics follow Apache Flink: see <see cref="WindowAssigner"/> and the README.
    /// </summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TAccumulator">The aggregate's accumulator type.</typeparam>
    /// <typeparam name="TResult">The aggregate's result type.</typeparam>
    /// <param name="name">The stage name, unique in the pipeline.</param>
    /// <param name="window">The windows, key, timestamps, watermark, lateness and firing options. They are copied.</param>
    /// <param name="aggregate">The aggregate, for example <see cref="Aggregates.Count{T}"/>.</param>
    /// <param name="options">The stage options.</param>
    /// <returns>The builder for the next stage.</returns>
    public PipelineBuilder<TIn, WindowResult<TKey, TResult>> Window<TKey, TAccumulator, TResult>(
        string name,
        WindowOptions<TOut, TKey> window,
        IAggregator<TOut, TAccumulator, TResult> aggregate,
        StageOptions? options = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(aggregate);
        var copy = window.Clone();
        return Add<WindowResult<TKey, TResult>>(name, StageKind.Window, options, (rt, next) =>
            _definition.Observer is { } observer
                ? new Windowing.WindowOperator<TOut, TKey, TAccumulator, TResult>(rt, new ObservedResults<WindowResult<TKey, TResult>>(observer, name, next!), Observed(observer, name, copy), aggregate)
                : new Windowing.WindowOperator<TOut, TKey, TAccumulator, TResult>(rt, next!, copy, aggregate), copy.Validate);
    }

    /// <summary>
    /// Adds the terminal async sink. It must be the last stage. Set <see cref="StageOptions.Capacity"/> to run it on a worker of its own.
    /// After a window run partitioned over Redis, a sink gets each committed result at least once (again after a
    /// takeover, for those the old owner may not have delivered): identify a result by its key, window start and firing
    /// number (<see cref="WindowResult{TKey, TResult}.FiringNumber"/>) and upsert it.
    /// </summary>
    /// <param name="name">The stage name, unique in the pipeline.</param>
    /// <param name="sink">Receives each event; completing counts the event as delivered.</param>
    /// <param name="options">The stage options.</param>
    /// <returns>The builder, for <see cref="Build"/>.</returns>
    [System.Runtime.CompilerServices.OverloadResolutionPriority(1)] // an async lambda fits both: it gets the ValueTask one
    public PipelineBuilder<TIn, TOut> Sink(string name, Func<TOut, CancellationToken, ValueTask> sink, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return Add<TOut>(name, StageKind.Sink, options, (rt, _) => new SinkOperator<TOut>(rt, _definition.Observer is { } observer ? Observed(observer, name, sink) : sink));
    }

    /// <summary>
    /// Adds the terminal async sink whose handler returns a <see cref="Task"/> (a store's <c>SaveAsync</c>, say), as
    /// <see cref="Sink(string, Func{TOut, CancellationToken, ValueTask}, StageOptions?)"/> does.
    /// </summary>
    /// <param name="name">The stage name, unique in the pipeline.</param>
    /// <param name="sink">Receives each event; completing counts the event as delivered.</param>
    /// <param name="options">The stage options.</param>
    /// <returns>The builder, for <see cref="Build"/>.</returns>
    public PipelineBuilder<TIn, TOut> Sink(string name, Func<TOut, CancellationToken, Task> sink, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return Sink(name, (item, ct) => new ValueTask(sink(item, ct)), options);
    }

    /// <summary>
    /// Adds the terminal synchronous sink. It must be the last stage. Set <see cref="StageOptions.Capacity"/> to run it on a worker of its own.
    /// After a window run partitioned over Redis, a sink gets each committed result at least once (again after a
    /// takeover, for those the old owner may not have delivered): identify a result by its key, window start and firing
    /// number (<see cref="WindowResult{TKey, TResult}.FiringNumber"/>) and upsert it.
    /// </summary>
    /// <param name="name">The stage name, unique in the pipeline.</param>
    /// <param name="sink">Receives each event; returning counts the event as delivered.</param>
    /// <param name="options">The stage options.</param>
    /// <returns>The builder, for <see cref="Build"/>.</returns>
    public PipelineBuilder<TIn, TOut> Sink(string name, Action<TOut> sink, StageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return Add<TOut>(name, StageKind.Sink, options, (rt, _) => new SyncSinkOperator<TOut>(rt, _definition.Observer is { } observer ? item => { sink(item); observer.Delivered(name, item); } : sink));
    }

    /// <summary>Validates the whole definition and starts the pipeline. A builder builds once.</summary>
    /// <returns>The running pipeline.</returns>
    /// <exception cref="PipelineConfigurationException">The definition has problems; the message names each one.</exception>
    public IEventPipeline<TIn> Build()
    {
        var problems = _definition.Validate();
        if (problems.Count != 0)
        {
            throw new PipelineConfigurationException(_definition.Name ?? "(unnamed)", problems);
        }

        _definition.Built = true;
        return _definition.BuildHook is { } hook ? (IEventPipeline<TIn>)hook(_definition) : PipelineAssembler.Assemble<TIn>(_definition);
    }

    /// <summary>An async sink that tells the observer of each event it accepted (not of one it took too long for).</summary>
    private static Func<TOut, CancellationToken, ValueTask> Observed(IPipelineObserver observer, string stage, Func<TOut, CancellationToken, ValueTask> sink) =>
        (item, token) =>
        {
            var pending = sink(item, token);
            if (pending.IsCompletedSuccessfully)
            {
                observer.Delivered(stage, item);
                return default;
            }

            return Slow(pending, item, token);

            async ValueTask Slow(ValueTask pending, TOut item, CancellationToken token)
            {
                await pending.ConfigureAwait(false);
                if (!token.IsCancellationRequested)
                {
                    observer.Delivered(stage, item);
                }
            }
        };

    /// <summary>The window options with a late output that tells the observer of each late event it accepted.</summary>
    private static WindowOptions<TOut, TKey> Observed<TKey>(IPipelineObserver observer, string stage, WindowOptions<TOut, TKey> window)
    {
        if (window.LateOutput is not { } late)
        {
            return window;
        }

        var copy = window.Clone();
        copy.LateOutput = async (item, token) =>
        {
            await late(item, token).ConfigureAwait(false);
            observer.LateOutput(stage, item);
        };
        return copy;
    }

    private PipelineBuilder<TIn, TNext> Add<TNext>(string name, StageKind kind, StageOptions? options, Func<StageRuntime, Operator<TNext>?, Operator<TOut>> factory, Func<string, IEnumerable<string>>? validate = null)
    {
        var definition = new StageDefinition<TOut, TNext>(name, kind, options?.Clone() ?? new StageOptions(), _position, factory, validate);
        _definition.Stages.Add(definition);
        return new PipelineBuilder<TIn, TNext>(_definition, _position + 1);
    }
}
