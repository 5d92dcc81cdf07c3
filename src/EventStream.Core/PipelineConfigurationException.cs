namespace EventStream;

/// <summary>
/// Thrown by <c>Build()</c> when a pipeline is misconfigured. <see cref="Problems"/> lists every problem found,
/// and the message names each one.
/// </summary>
public sealed class PipelineConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PipelineConfigurationException()
        : this("The pipeline is misconfigured.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public PipelineConfigurationException(string message)
        : base(message)
    {
        Problems = [message];
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public PipelineConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problems = [message];
    }

    /// <summary>Creates the exception for a list of problems.</summary>
    /// <param name="pipeline">The pipeline name.</param>
    /// <param name="problems">Every problem found.</param>
    public PipelineConfigurationException(string pipeline, IReadOnlyList<string> problems)
        : base(FormatMessage(pipeline, problems))
    {
        Problems = problems;
    }

    /// <summary>Gets every problem found, one sentence each.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string FormatMessage(string pipeline, IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return problems.Count == 1
            ? $"Pipeline '{pipeline}' is misconfigured: {problems[0]}"
            : $"Pipeline '{pipeline}' is misconfigured ({problems.Count} problems):" + Environment.NewLine
              + string.Join(Environment.NewLine, problems.Select(p => " - " + p));
    }
}
