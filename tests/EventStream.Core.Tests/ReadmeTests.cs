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
