namespace EventStream.Cli;

/// <summary>Bad command-line arguments: the CLI prints the message on one line and exits with code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
