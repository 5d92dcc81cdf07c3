namespace EventStream.Tests;

/// <summary>The repository these tests run in: the README, the samples and the built packages' files.</summary>
public static class Repository
{
    /// <summary>Gets the folder that holds EventStream.sln, found upwards from the test's own folder.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
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
