using static EventStream.Cli.Tests.CliHarness;

namespace EventStream.Cli.Tests;

/// <summary>Bad arguments exit with 2 and one line; an unreadable input or unwritable output exits with 1 and one line.</summary>
public sealed class ArgumentTests : IDisposable
{
    private readonly CliHarness _cli = new();

    public ArgumentTests() => File.WriteAllLines(_cli.InputPath, [Ev(1000)]);

    public static TheoryData<string, string> BadWindows => new()
    {
        { "tumbling", "bad --window 'tumbling': expected tumbling:SIZE, sliding:SIZE:SLIDE or session:GAP" },
        { "tumbling:10s:5s", "bad --window 'tumbling:10s:5s': expected" },
        { "sliding:10s", "bad --window 'sliding:10s': expected" },
        { "hopping:10s", "bad --window 'hopping:10s': expected" },
        { "Tumbling:10s", "bad --window 'Tumbling:10s': expected" },
        { "tumbling:0s", "bad --window 'tumbling:0s': the size must be at least 1ms" },
        { "session:0ms", "bad --window 'session:0ms': the gap must be at least 1ms" },
        { "sliding:10s:0ms", "bad --window 'sliding:10s:0ms': the slide must be at least 1ms" },
        { "sliding:5s:10s", "bad --window 'sliding:5s:10s': the slide (10s) must not be longer than the size (5s)" },
        { "tumbling:10", "bad --window 'tumbling:10': bad duration '10': expected an integer followed by ms, s, m or h" },
        { "session:1d", "bad --window 'session:1d': bad duration '1d'" },
    };

    public static TheoryData<string> BadDurations => ["10", "10x", "-5s", "1.5s", "s", "ms", "10 s", " 10s", "10S", "1e3ms", "+5s", "99999999999999999999h", "999999999999h"];

    public static TheoryData<string, string> BadAggregates => new()
    {
        { "count:data.v", "bad --agg 'count:data.v': expected count, sum:PATH, avg:PATH, min:PATH, max:PATH, distinct:PATH, topk:K:PATH or percentiles:Q1,Q2,...:PATH" },
        { "sum", "bad --agg 'sum': expected" },
        { "average:data.v", "bad --agg 'average:data.v': expected" },
        { "median:data.v", "bad --agg 'median:data.v': expected" },
        { "SUM:data.v", "bad --agg 'SUM:data.v': expected" },
        { "sum:", "bad --agg 'sum:': '' is not a dotted path such as data.amount" },
        { "max:data..v", "bad --agg 'max:data..v': 'data..v' is not a dotted path" },
        { "distinct:.user", "bad --agg 'distinct:.user': '.user' is not a dotted path" },
    };

    [Theory]
    [MemberData(nameof(BadWindows))]
    public async Task A_bad_window_spec_exits_with_2(string window, string message)
    {
        var run = await _cli.RunArgsAsync(_cli.Args(window, "data.url", "count"));

        run.ShouldFailWith(2, message);
        File.Exists(_cli.OutputPath).Should().BeFalse();
    }

    [Theory]
    [MemberData(nameof(BadDurations))]
    public async Task A_bad_duration_exits_with_2(string duration)
    {
        var ooo = await _cli.RunArgsAsync(_cli.Args("tumbling:10s", "data.url", "count", "--out-of-orderness", duration));
        ooo.ShouldFailWith(2, $"bad --out-of-orderness: bad duration '{duration}'");

        var lateness = await _cli.RunArgsAsync(_cli.Args("tumbling:10s", "data.url", "count", "--allowed-lateness", duration));
        lateness.ShouldFailWith(2, $"bad --allowed-lateness: bad duration '{duration}'");

        var size = await _cli.RunArgsAsync(_cli.Args($"tumbling:{duration}", "data.url", "count"));
        size.ExitCode.Should().Be(2);
    }

    [Theory]
    [MemberData(nameof(BadAggregates))]
    public async Task A_bad_aggregate_spec_exits_with_2(string agg, string message)
    {
        var run = await _cli.RunArgsAsync(_cli.Args("tumbling:10s", "data.url", agg));

        run.ShouldFailWith(2, message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("data..url")]
    [InlineData("data.")]
    public async Task A_bad_key_path_exits_with_2(string key)
    {
        var run = await _cli.RunArgsAsync(_cli.Args("tumbling:10s", key, "count"));

        run.ExitCode.Should().Be(2);
        run.Stderr.TrimEnd().Should().NotContain("\n");
    }

    [Theory]
    [InlineData("--input")]
    [InlineData("--window")]
    [InlineData("--key")]
    [InlineData("--agg")]
    [InlineData("--output")]
    [InlineData("--late")]
    [InlineData("--dead-letter")]
    public async Task A_missing_required_option_exits_with_2(string option)
    {
        var args = _cli.Args("tumbling:10s", "data.url", "count").ToList();
        var at = args.IndexOf(option);
        args.RemoveRange(at, 2);

        var run = await _cli.RunArgsAsync([.. args]);

        run.ShouldFailWith(2, $"missing required option {option}");
    }

    [Fact]
    public async Task Several_missing_options_are_named_together()
    {
        var run = await _cli.RunArgsAsync(["window", "--input", _cli.InputPath]);

        run.ShouldFailWith(2, "missing required options --window, --key, --agg, --output, --late, --dead-letter");
    }

    [Theory]
    [InlineData(new[] { "--verbose" }, "unknown option '--verbose'")]
    [InlineData(new[] { "--window-size", "10s" }, "unknown option '--window-size'")]
    [InlineData(new[] { "-k", "x" }, "unknown option '-k'")]
    [InlineData(new[] { "stray" }, "unexpected argument 'stray'")]
    [InlineData(new[] { "--key", "source" }, "--key is given more than once")]
    [InlineData(new[] { "--out-of-orderness" }, "--out-of-orderness needs a value")]
    [InlineData(new[] { "--out-of-orderness", "--allowed-lateness", "1s" }, "--out-of-orderness needs a value")]
    [InlineData(new[] { "--allowed-lateness=" }, "--allowed-lateness needs a value")]
    public async Task Unknown_repeated_or_valueless_options_exit_with_2(string[] extra, string message)
    {
        var run = await _cli.RunArgsAsync(_cli.Args("tumbling:10s", "data.url", "count", extra));

        run.ShouldFailWith(2, message);
    }

    [Fact]
    public async Task Options_may_be_written_with_an_equals_sign_and_in_any_order()
    {
        string[] args =
        [
            "window", $"--output={_cli.OutputPath}", "--agg=count", "--key", "data.url", "--late", _cli.LatePath,
            $"--dead-letter={_cli.DeadLetterPath}", "--allowed-lateness=1s", "--window=tumbling:10s", "--input", _cli.InputPath,
        ];

        var run = await _cli.RunArgsAsync(args);

        run.ShouldSucceed();
        run.Output.Should().Equal(Result("/a", 0, 10000, "1", 1));
    }

    [Theory]
    [InlineData(new string[0], "eventstream: missing command")]
    [InlineData(new[] { "windows" }, "eventstream: unknown command 'windows'")]
    [InlineData(new[] { "--input", "x" }, "eventstream: unknown command '--input'")]
    public async Task A_missing_or_unknown_command_exits_with_2(string[] args, string message)
    {
        var run = await _cli.RunArgsAsync(args);

        run.ShouldFailWith(2, message);
    }

    [Fact]
    public async Task Window_help_prints_that_commands_options_to_stdout_with_exit_code_0()
    {
        var run = await _cli.RunArgsAsync(["window", "--help"]);

        run.ExitCode.Should().Be(0);
        run.Stdout.Should().Contain("Usage:").And.Contain(" window [options]")
            .And.Contain("--input <PATH>").And.Contain("--window <SPEC>").And.Contain("--dead-letter <PATH>").And.Contain("--allowed-lateness <DURATION>")
            .And.Contain("Exit codes: 0 done, 1 input or output failed, 2 bad arguments");
        run.Stdout.Should().NotContain("--consumer", "the worker's options are not the window command's");
        run.Stderr.Should().BeEmpty();
    }

    [Theory]
    [InlineData("worker", "--consumer <NAME>")]
    [InlineData("produce", "--batch <N>")]
    [InlineData("results", "--group <NAME>")]
    public async Task Every_command_has_its_own_help_with_exit_code_0(string command, string option)
    {
        var run = await _cli.RunArgsAsync([command, "-h"]);

        run.ExitCode.Should().Be(0);
        run.Stdout.Should().Contain($" {command} [options]").And.Contain(option).And.Contain("--verbose");
        run.Stderr.Should().BeEmpty();
    }

    [Fact]
    public async Task Every_option_may_be_written_as_name_equals_value()
    {
        File.WriteAllLines(_cli.InputPath, [Ev(1000, "2"), Ev(3000, "3"), Ev(1500, "4")]);
        string[] args =
        [
            "window", $"--input={_cli.InputPath}", "--window=tumbling:10s", "--key=data.url", "--agg=sum:data.v", $"--output={_cli.OutputPath}",
            $"--late={_cli.LatePath}", $"--dead-letter={_cli.DeadLetterPath}", "--out-of-orderness=1s", "--allowed-lateness=500ms",
        ];

        var run = await _cli.RunArgsAsync(args);

        run.ShouldSucceed();
        run.Output.Should().Equal(Result("/a", 0, 10000, "9", 3));
    }

    [Theory]
    [InlineData("--allowed-latenes", "unknown option '--allowed-latenes' (did you mean --allowed-lateness?)")]
    [InlineData("--out-of-order", "unknown option '--out-of-order'")]
    public async Task A_misspelt_option_exits_with_2_and_is_named_with_the_suggestion(string option, string message)
    {
        var run = await _cli.RunArgsAsync(_cli.Args("tumbling:10s", "data.url", "count", option, "1s"));

        run.ShouldFailWith(2, message);
        run.Stderr.Should().EndWith("(eventstream window --help)" + Environment.NewLine);
        File.Exists(_cli.OutputPath).Should().BeFalse();
    }

    [Fact]
    public async Task A_misspelt_option_written_with_an_equals_sign_is_named_without_its_value()
    {
        var run = await _cli.RunArgsAsync(_cli.Args("tumbling:10s", "data.url", "count", "--allowed-latenes=1s"));

        run.ShouldFailWith(2, "unknown option '--allowed-latenes'");
    }

    [Fact]
    public async Task A_misspelt_command_exits_with_2_and_is_named_with_the_suggestion()
    {
        var run = await _cli.RunArgsAsync(["windows", "--input", _cli.InputPath]);

        run.ShouldFailWith(2, "eventstream: unknown command 'windows' (did you mean window?)");
    }

    [Theory]
    [InlineData("symbolic")]
    [InlineData("hard")]
    public async Task An_output_that_is_the_input_through_a_link_is_refused_and_the_input_is_left_alone(string link)
    {
        // Regression (issue 11): the same-file guard compared path strings, so --output through a link to the input
        // truncated the input to 0 bytes and exited 0 with "0 lines read".
        File.WriteAllLines(_cli.InputPath, [Ev(1000), Ev(2000)]);
        var before = await File.ReadAllBytesAsync(_cli.InputPath);
        var path = Path.Combine(_cli.Dir, link + "-link.ndjson");
        if (link == "symbolic")
        {
            File.CreateSymbolicLink(path, _cli.InputPath);
        }
        else
        {
            using var ln = System.Diagnostics.Process.Start("ln", [_cli.InputPath, path])!;
            await ln.WaitForExitAsync();
            ln.ExitCode.Should().Be(0, "the test makes a hard link with ln");
        }

        var run = await _cli.RunArgsAsync(_cli.ArgsWith(("--output", path)));

        (await File.ReadAllBytesAsync(_cli.InputPath)).Should().Equal(before, "the input is not touched");
        run.ShouldFailWith(2, "--output");
        run.Stderr.Should().Contain("is the input file");
    }

    [Fact]
    public async Task Two_outputs_that_name_one_file_through_a_link_are_refused()
    {
        var output = Path.Combine(_cli.Dir, "out.ndjson");
        await File.WriteAllTextAsync(output, string.Empty);
        var late = Path.Combine(_cli.Dir, "late-link.ndjson");
        File.CreateSymbolicLink(late, output);

        var run = await _cli.RunArgsAsync(_cli.ArgsWith(("--output", output), ("--late", late)));

        run.ShouldFailWith(2, "--output and --late name the same file");
    }

    [Fact]
    public async Task An_output_that_is_the_input_is_refused_before_anything_is_written()
    {
        var run = await _cli.RunArgsAsync(_cli.ArgsWith(("--late", _cli.InputPath)));

        run.ShouldFailWith(2, "--late");
        run.Stderr.Should().Contain("is the input file");
        File.ReadAllLines(_cli.InputPath).Should().Equal(Ev(1000));
    }

    [Fact]
    public async Task Two_outputs_naming_the_same_file_are_refused()
    {
        var run = await _cli.RunArgsAsync(_cli.ArgsWith(("--dead-letter", _cli.OutputPath)));

        run.ShouldFailWith(2, "--output and --dead-letter name the same file");
    }

    [Fact]
    public async Task A_missing_input_exits_with_1_and_creates_no_outputs()
    {
        var missing = Path.Combine(_cli.Dir, "missing.ndjson");

        var run = await _cli.RunArgsAsync(_cli.ArgsWith(("--input", missing)));

        run.ShouldFailWith(1, $"eventstream window: cannot read input '{missing}': Could not find file");
        File.Exists(_cli.OutputPath).Should().BeFalse();
        File.Exists(_cli.LatePath).Should().BeFalse();
        File.Exists(_cli.DeadLetterPath).Should().BeFalse();
    }

    [Fact]
    public async Task A_directory_as_input_exits_with_1()
    {
        var run = await _cli.RunArgsAsync(_cli.ArgsWith(("--input", _cli.Dir)));

        run.ShouldFailWith(1, $"cannot read input '{_cli.Dir}': it is a directory");
    }

    [Fact]
    public async Task An_output_in_a_missing_directory_exits_with_1()
    {
        var output = Path.Combine(_cli.Dir, "no-such-dir", "out.ndjson");

        var run = await _cli.RunArgsAsync(_cli.ArgsWith(("--output", output)));

        run.ShouldFailWith(1, $"cannot write --output '{output}':");
    }

    [Fact]
    public async Task An_output_that_cannot_be_created_leaves_no_other_output_behind()
    {
        // Regression (issue 11): --late in a missing directory exited 1 but left an empty --output file.
        var late = Path.Combine(_cli.Dir, "no-such-dir", "late.ndjson");

        var run = await _cli.RunArgsAsync(_cli.ArgsWith(("--late", late)));

        File.Exists(_cli.OutputPath).Should().BeFalse("no output is created before every output is known to be writable");
        run.ShouldFailWith(1, $"cannot write --late '{late}': the directory '{Path.GetDirectoryName(late)}' does not exist");
    }

    [Fact]
    public async Task Results_go_to_stdout_for_a_dash()
    {
        var run = await _cli.RunArgsAsync(_cli.ArgsWith(("--output", "-")));

        run.ExitCode.Should().Be(0);
        run.Stdout.Should().Be(Result("/a", 0, 10000, "1", 1) + "\n");
        run.Stderr.Should().Contain("1 lines read");
    }

    [Fact]
    public async Task Only_one_output_may_be_stdout()
    {
        var run = await _cli.RunArgsAsync(_cli.ArgsWith(("--output", "-"), ("--late", "-")));

        run.ShouldFailWith(2, "only one of --output, --late and --dead-letter may be '-'");
    }

    [Fact]
    public async Task The_late_and_dead_letter_outputs_may_both_be_dev_null()
    {
        // A precondition of this Linux CI, not a reason to pass: without /dev/null the test would prove nothing.
        File.Exists("/dev/null").Should().BeTrue("/dev/null exists on Linux, where these tests run");

        // One line for each output, so both really write to the shared device: 1000 is late after 12000, the last is not JSON.
        File.WriteAllLines(_cli.InputPath, [Ev(12000), Ev(1000), "not json"]);

        var run = await _cli.RunArgsAsync(_cli.ArgsWith(("--late", "/dev/null"), ("--dead-letter", "/dev/null")));

        run.ShouldSucceed();
        run.Output.Should().Equal(Result("/a", 10000, 20000, "1", 1));
        run.Summary.Should().Be((3L, 0L, 1L, 1L, 1L, 1L));
        File.Exists(_cli.LatePath).Should().BeFalse();
        File.Exists(_cli.DeadLetterPath).Should().BeFalse();
    }

    [Fact]
    public async Task The_summary_is_one_line_on_stderr_and_stdout_stays_empty()
    {
        var run = await _cli.RunArgsAsync(_cli.Args("tumbling:10s", "data.url", "count"));

        run.ShouldSucceed();
        run.Stderr.Should().MatchRegex(@"^eventstream window: 1 lines read \(0 blank\): 1 windowed, 0 late, 0 dead-lettered; 1 results written in \d+\.\d\d s\r?\n$");
    }

    public void Dispose() => _cli.Dispose();
}
