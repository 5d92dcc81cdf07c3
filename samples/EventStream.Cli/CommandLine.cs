namespace EventStream.Cli;

/// <summary>Parses <c>--name value</c> and <c>--name=value</c> options.</summary>
public static class CommandLine
{
    /// <summary>Parses options into a dictionary, checking that each is known, given once, with a value, and that every required one is there.</summary>
    /// <exception cref="UsageException">An option is unknown, repeated, missing or empty.</exception>
    public static Dictionary<string, string> Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> required, IReadOnlyCollection<string> optional)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string name, value;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                name = arg[..equals];
                value = arg[(equals + 1)..];
            }
            else
            {
                name = arg;
                value = "";
            }

            if (!required.Contains(name) && !optional.Contains(name))
            {
                throw new UsageException(arg.StartsWith('-') ? $"unknown option '{name}'" : $"unexpected argument '{arg}'");
            }

            if (equals <= 0)
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new UsageException($"{name} needs a value");
                }

                value = args[++i];
            }

            if (!values.TryAdd(name, value))
            {
                throw new UsageException($"{name} is given more than once");
            }
        }

        var missing = required.Where(r => !values.ContainsKey(r)).ToList();
        if (missing.Count > 0)
        {
            throw new UsageException($"missing required option{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)}");
        }

        foreach (var (name, value) in values)
        {
            if (value.Length == 0)
            {
                throw new UsageException($"{name} needs a value");
            }
        }

        return values;
    }
}
