using System.Diagnostics;

namespace VideoData.Testing;

/// <summary>
/// Private device nodes for tests of outputs written in place: a character device equal to <c>/dev/null</c>
/// (major 1, minor 3) made with <c>mknod</c> inside a test's own temporary folder. Tests never touch the
/// machine's real <c>/dev/null</c>.
/// </summary>
public static class DeviceNodes
{
    /// <summary>Creates <paramref name="path"/> as a null character device (needs CAP_MKNOD, i.e. root as in CI's container).</summary>
    public static string CreateNull(string path)
    {
        Run("mknod", "-m", "666", path, "c", "1", "3");
        Assert.True(IsCharacterDevice(path), $"mknod did not make {path} a character device: {Describe(path)}");
        return path;
    }

    /// <summary>Creates <paramref name="path"/> as a FIFO (named pipe).</summary>
    public static string CreateFifo(string path)
    {
        Run("mkfifo", path);
        return path;
    }

    /// <summary>True when <paramref name="path"/> itself (not following links) is a character device.</summary>
    public static bool IsCharacterDevice(string path) => Describe(path) == "character special file";

    /// <summary><c>stat -c %F</c> of <paramref name="path"/> without following links: "regular file", "character special file", "fifo", "symbolic link"….</summary>
    public static string Describe(string path) => Run("stat", "-c", "%F", path).Trim();

    /// <summary>The files of <paramref name="folder"/> other than <paramref name="except"/>, to prove no temporary sibling was left.</summary>
    public static string[] OtherEntries(string folder, params string[] except) =>
        [.. Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).Where(name => !except.Contains(name)).Select(name => name!)];

    private static string Run(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{tool} {string.Join(' ', arguments)} failed: {stderr}");
        return stdout.Result;
    }
}
