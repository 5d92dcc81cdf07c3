namespace EventStream.Tests;

public class ReadmeTests
{
    [Fact]
    public void The_quick_start_in_the_README_is_the_compiled_sample_verbatim()
    {
        var root = FindRepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var sample = File.ReadAllText(Path.Combine(root, "samples", "EventStream.Samples.QuickStart", "Program.cs")).ReplaceLineEndings("\n");

        var section = readme.IndexOf("## Quick start", StringComparison.Ordinal);
        section.Should().BeGreaterThan(0, "the README has a quick start");
        var start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        var end = readme.IndexOf("```", start, StringComparison.Ordinal);

        readme[start..end].Should().Be(sample);
    }

    [Fact]
    public void The_READMEs_test_command_is_what_CI_runs_and_it_runs_every_test()
    {
        // Issue 11: the README said "with only the .NET 10 SDK installed ... dotnet test", which fails without
        // redis-server and chromium; CI installed them itself, so it did not run the README's command.
        var root = FindRepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var section = readme.IndexOf("## Two commands", StringComparison.Ordinal);
        section.Should().BeGreaterThan(0, "the README has its two commands");
        var start = readme.IndexOf("```bash\n", section, StringComparison.Ordinal) + "```bash\n".Length;
        var commands = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)]
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith('#'))
            .ToList();

        commands.Should().Equal("dotnet run --project samples/EventStream.Samples.Clickstream -c Release", "bash build/test.sh");
        File.ReadAllLines(Path.Combine(root, ".ci", "run")).Should().Contain(l => l.Trim().StartsWith(commands[1] + " ", StringComparison.Ordinal), "CI runs the README's test command");
        var script = File.ReadAllText(Path.Combine(root, "build", "test.sh"));
        script.Should().Contain("exec dotnet test EventStream.sln -c Release").And.Contain("apt-get install");
        foreach (var package in new[] { "redis-server", "redis-tools", "chromium" })
        {
            script.Should().Contain($"need+=({package})", "it installs {0} when it is missing", package);
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EventStream.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("EventStream.sln not found above " + AppContext.BaseDirectory);
    }
}
