namespace VideoData.Testing;

/// <summary>Locations tests use: the repository root and the shared test data beside it.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The repository root (the folder holding VideoData.sln).</summary>
    public static string Root => s_root.Value;

    /// <summary>
    /// The shared test data folder: <c>$VIDEODATA_SHARED</c>/testdata when set, else ../shared/testdata
    /// beside the repository. Tests that need it call <see cref="RequireSharedTestData"/>.
    /// </summary>
    public static string SharedTestData =>
        Path.Combine(Environment.GetEnvironmentVariable("VIDEODATA_SHARED") ?? Path.Combine(Root, "..", "shared"), "testdata");

    /// <summary>Returns a path under the shared test data, failing the test clearly if it is missing.</summary>
    public static string RequireSharedTestData(params string[] parts)
    {
        var path = Path.GetFullPath(Path.Combine([SharedTestData, .. parts]));
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            throw new FileNotFoundException($"Shared test data '{path}' is missing; set VIDEODATA_SHARED to the folder holding testdata/.", path);
        }

        return path;
    }

    /// <summary>The folder of pinned npm test tools installed by infra/scripts/setup.sh --tests.</summary>
    public static string ToolsNodeModules => Path.Combine(Root, ".tools", "node_modules");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VideoData.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Could not find VideoData.sln above {AppContext.BaseDirectory}.");
    }
}
