namespace EventStream.Tests;

public class ReadmeTests
{
    [Theory]
    [InlineData("README.md")]
    [InlineData("src/EventStream.Core/README.md")]
    [InlineData("src/EventStream.Redis/README.md")]
    [InlineData("src/EventStream.AspNetCore/README.md")]
    [InlineData("src/EventStream.Testing/README.md")]
    public void Every_csharp_block_is_a_file_of_a_project_in_the_solution_shown_whole(string document)
    {
        // Issue 11: only the quick start compiled as written; the other snippets lacked usings, used types the README
        // never defined, and two failed to compile (CS0407, CS0029). Now every block names its file in a marker, the
        // file is built with the solution (so CI fails when a snippet does not compile), and the block is the whole file.
        var root = Repository.Root;
        var solution = File.ReadAllText(Path.Combine(root, "EventStream.sln")).Replace('\\', '/');
        var lines = File.ReadAllText(Path.Combine(root, document)).ReplaceLineEndings("\n").Split('\n');
        var blocks = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i] != "```csharp")
            {
                lines[i].Should().NotStartWith("```cs", "{0} line {1}: C# blocks are marked ```csharp", document, i + 1);
                continue;
            }

            blocks++;
            var marker = System.Text.RegularExpressions.Regex.Match(i > 0 ? lines[i - 1] : string.Empty, "^<!-- snippet: (\\S+) -->$");
            marker.Success.Should().BeTrue("{0} line {1}: a C# block follows a <!-- snippet: path --> line naming its file", document, i + 1);
            var path = marker.Groups[1].Value;
            File.Exists(Path.Combine(root, path)).Should().BeTrue("{0} line {1} shows {2}", document, i + 1, path);
            var project = Directory.GetFiles(Path.GetDirectoryName(Path.Combine(root, path))!, "*.csproj").Should().ContainSingle("{0} is in a project", path).Subject;
            solution.Should().Contain(Path.GetRelativePath(root, project).Replace('\\', '/'), "{0}'s project is built with the solution", path);

            var end = Array.IndexOf(lines, "```", i + 1);
            end.Should().BePositive("{0} line {1}: the block ends", document, i + 1);
            var shown = string.Join('\n', lines[(i + 1)..end]) + "\n";
            shown.Should().Be(File.ReadAllText(Path.Combine(root, path)).ReplaceLineEndings("\n"), "{0} line {1} shows {2} whole", document, i + 1, path);
            i = end;
        }

        blocks.Should().BePositive("{0} shows code", document);
    }

    [Fact]
    public void The_quick_start_is_the_quick_start_sample()
    {
        var readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md")).ReplaceLineEndings("\n");
        var section = readme.IndexOf("## Quick start", StringComparison.Ordinal);
        section.Should().BeGreaterThan(0, "the README has a quick start");
        readme.IndexOf("<!-- snippet: samples/EventStream.Samples.QuickStart/Program.cs -->", section, StringComparison.Ordinal)
            .Should().BeLessThan(readme.IndexOf("\n## ", section + 5, StringComparison.Ordinal)).And.BePositive();
    }

    [Fact]
    public void The_READMEs_test_command_is_what_CI_runs_and_it_runs_every_test()
    {
        // Issue 11: the README said "with only the .NET 10 SDK installed ... dotnet test", which fails without
        // redis-server and chromium; CI installed them itself, so it did not run the README's command.
        var root = Repository.Root;
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

        // `dotnet test` builds only the test projects and what they reference: the samples, the README's snippets and the
        // benchmarks were not compiled by CI until the script built the whole solution first.
        script.Should().Contain("\ndotnet build EventStream.sln -c Release\n");
        foreach (var package in new[] { "redis-server", "redis-tools", "chromium", "clang", "zlib1g-dev" })
        {
            script.Should().Contain($"need+=({package})", "it installs {0} when it is missing", package);
        }
    }

}
