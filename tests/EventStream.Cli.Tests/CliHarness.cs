using System.Globalization;
using System.Text.RegularExpressions;

namespace EventStream.Cli.Tests;

/// <summary>Runs <c>eventstream window</c> in-process on an input written to a temporary directory.</summary>
internal sealed partial class CliHarness : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("eventstream-cli-").FullName;

    public string InputPath => Path.Combine(Dir, "in.ndjson");

    public string OutputPath => Path.Combine(Dir, "out.ndjson");

    public string LatePath => Path.Combine(Dir, "late.ndjson");

    public string DeadLetterPath => Path.Combine(Dir, "dead.ndjson");

    /// <summary>An event line: <c>{"id","type","source","timestamp","data":{"url","v"}}</c>; <paramref name="v"/> is raw JSON.</summary>
    public static string Ev(long timestamp, string v = "1", string url = "/a", string id = "e") =>
        $$$"""{"id":"{{{id}}}","type":"view","source":"web","timestamp":{{{timestamp}}},"data":{"url":"{{{url}}}","v":{{{v}}}}}""";

    /// <summary>An expected result line; <paramref name="value"/> is the JSON text of the value.</summary>
    public static string Result(string key, long start, long end, string value, long count) =>
        $$$"""{"key":"{{{key}}}","start":{{{start}}},"end":{{{end}}},"value":{{{value}}},"count":{{{count}}}}""";

    public string[] Args(string window, string key, string agg, params string[] extra) =>
    [
        "window", "--input", InputPath, "--window", window, "--key", key, "--agg", agg,
        "--output", OutputPath, "--late", LatePath, "--dead-letter", DeadLetterPath, .. extra,
    ];

    /// <summary>
    /// The arguments of a tumbling 10 s count keyed by <c>data.url</c> (<see cref="Args"/>), with the value after each
    /// named option replaced.
    /// </summary>
    public string[] ArgsWith(params (string Option, string Value)[] values) => With(Args("tumbling:10s", "data.url", "count"), values);

    /// <summary>A copy of <paramref name="args"/> with the value after each named option replaced; the option must be there.</summary>
    public static string[] With(string[] args, params (string Option, string Value)[] values)
    {
        var copy = args.ToArray();
        foreach (var (option, value) in values)
        {
            // Without this check a missing option (IndexOf -1) would silently overwrite the command name.
            var at = Array.IndexOf(copy, option);
            (at >= 0 && at + 1 < copy.Length).Should().BeTrue($"the arguments should hold {option} and its value: {string.Join(' ', args)}");
            copy[at + 1] = value;
        }

        return copy;
    }

    public Task<CliResult> RunAsync(IEnumerable<string> lines, string window, string key, string agg, params string[] extra)
    {
        File.WriteAllLines(InputPath, lines);
        return RunArgsAsync(Args(window, key, agg, extra));
    }

    public async Task<CliResult> RunArgsAsync(string[] args)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var code = await Program.RunAsync(args, stdout, stderr);
        return new CliResult(code, stdout.ToString(), stderr.ToString(), ReadLines(OutputPath), ReadLines(LatePath), ReadLines(DeadLetterPath));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static List<string> ReadLines(string path) => File.Exists(path) ? [.. File.ReadAllLines(path)] : [];
}

internal sealed partial record CliResult(int ExitCode, string Stdout, string Stderr, List<string> Output, List<string> Late, List<string> DeadLetters)
{
    /// <summary>The counts of the summary line on stderr.</summary>
    public (long Read, long Blank, long Windowed, long Late, long DeadLettered, long Results) Summary
    {
        get
        {
            var m = SummaryPattern().Match(Stderr);
            m.Success.Should().BeTrue($"stderr should hold the summary, but was: {Stderr}");
            long N(int i) => long.Parse(m.Groups[i].Value, CultureInfo.InvariantCulture);
            return (N(1), N(2), N(3), N(4), N(5), N(6));
        }
    }

    public void ShouldSucceed()
    {
        ExitCode.Should().Be(0, $"stderr: {Stderr}");
        Stdout.Should().BeEmpty();
        Stderr.TrimEnd('\n', '\r').Should().NotContain("\n", "stderr holds one summary line");
    }

    public void ShouldFailWith(int exitCode, string messagePart)
    {
        ExitCode.Should().Be(exitCode);
        var message = Stderr.TrimEnd('\n', '\r');
        message.Should().NotContain("\n", "the error is one line");
        message.Should().NotContain("   at ", "no stack trace");
        message.Should().StartWith("eventstream");
        message.Should().Contain(messagePart);
        Stdout.Should().BeEmpty();
    }

    [GeneratedRegex(@"(\d+) lines read \((\d+) blank\): (\d+) windowed, (\d+) late, (\d+) dead-lettered; (\d+) results written")]
    private static partial Regex SummaryPattern();
}
