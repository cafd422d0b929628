using System.Collections.Concurrent;

namespace VideoData.Testing.Videos;

/// <summary>
/// Generates test videos with the ffmpeg CLI into one temporary folder per test process, each at
/// most once (concurrent callers wait for the same generation); the folder is deleted when the
/// process exits. Thread-safe.
/// </summary>
public static class TestVideos
{
    private static readonly ConcurrentDictionary<string, Lazy<string>> s_generated = new(StringComparer.Ordinal);
    private static readonly Lazy<string> s_folder = new(CreateFolder);

    /// <summary>The cache folder of this test process.</summary>
    public static string Folder => s_folder.Value;

    /// <summary>The path of <paramref name="video"/>, generating it on first use.</summary>
    public static string Get(TestVideo video)
    {
        ArgumentNullException.ThrowIfNull(video);
        return s_generated.GetOrAdd(video.FileName, name => new Lazy<string>(() =>
        {
            var path = GenerateNow(name, [.. video.Arguments]);
            if (video.Patch is { } patch)
            {
                File.WriteAllBytes(path, patch(File.ReadAllBytes(path)));
            }

            return path;
        })).Value;
    }

    /// <summary>
    /// Generates <paramref name="fileName"/> once with <c>ffmpeg [arguments] FILE</c> (for clips not
    /// in <see cref="TestVideoCatalog"/>) and returns its path. The same file name must always be
    /// given the same arguments.
    /// </summary>
    public static string Generate(string fileName, params string[] arguments)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        if (fileName.Contains('/', StringComparison.Ordinal) || fileName.Contains('\\', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{fileName}' must be a plain file name.", nameof(fileName));
        }

        return s_generated.GetOrAdd(fileName, name => new Lazy<string>(() => GenerateNow(name, arguments))).Value;
    }

    /// <summary>Writes <paramref name="bytes"/> as a file in the cache folder (for derived bad inputs) and returns its path.</summary>
    public static string WriteFile(string fileName, ReadOnlySpan<byte> bytes)
    {
        var path = Path.Combine(Folder, fileName);
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    private static string GenerateNow(string fileName, string[] arguments)
    {
        var path = Path.Combine(Folder, fileName);
        var temporary = Path.Combine(Folder, $".{Guid.NewGuid():N}{Path.GetExtension(fileName)}");
        FfmpegCli.Run(["-y", .. arguments, temporary]);
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    private static string CreateFolder()
    {
        var folder = Directory.CreateTempSubdirectory("videodata-test-videos-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a leftover temp folder is harmless.
            }
        };
        return folder;
    }
}
