using System.Runtime.InteropServices;

using VideoData.Media.Native;

namespace VideoData.Media;

/// <summary>A library of the FFmpeg 5.1 ABI this binding is written for.</summary>
internal sealed record FfmpegLibrarySpec(string Name, string LogicalName, int ExpectedMajor, string VersionExport, string DebianPackage)
{
    public string Soname => $"{Name}.so.{ExpectedMajor}";
}

/// <summary>The outcome of loading one library: the handle (zero when refused), and a readable trace.</summary>
internal sealed record LoadedLibrary(FfmpegLibrarySpec Spec, nint Handle, string? ResolvedPath, uint? Version, string Trace, string? Problem)
{
    public bool Ok => Problem is null;

    public int? FoundMajor => Version is { } v ? (int)(v >> 16) : null;

    public string? VersionText => Version is { } v ? FfmpegLibraryLoader.FormatVersion(v) : null;
}

/// <summary>
/// Loads the FFmpeg libraries by soname with <see cref="NativeLibrary"/>, first from the given
/// directories, then through the system search path, and checks each library's major version by
/// calling its <c>*_version()</c> export. Everything tried is recorded in the trace.
/// </summary>
internal sealed class FfmpegLibraryLoader
{
    /// <summary>FFmpeg 5.1 as Debian 12 ships it; load order respects the libraries' dependencies.</summary>
    public static readonly IReadOnlyList<FfmpegLibrarySpec> FfmpegFive =
    [
        new("libavutil", Interop.Libraries.AvUtil, 57, "avutil_version", "libavutil57"),
        new("libavcodec", Interop.Libraries.AvCodec, 59, "avcodec_version", "libavcodec59"),
        new("libavformat", Interop.Libraries.AvFormat, 59, "avformat_version", "libavformat59"),
        new("libswscale", Interop.Libraries.SwScale, 6, "swscale_version", "libswscale6"),
    ];

    private readonly IReadOnlyList<string> _searchDirectories;
    private readonly bool _searchSystem;

    public FfmpegLibraryLoader(IReadOnlyList<string> searchDirectories, bool searchSystem)
    {
        _searchDirectories = searchDirectories;
        _searchSystem = searchSystem;
    }

    public static string InstallHint(IEnumerable<FfmpegLibrarySpec> specs) =>
        $"install them with: sudo apt-get install {string.Join(' ', specs.Select(s => s.DebianPackage))}";

    public static string FormatVersion(uint version) => $"{version >> 16}.{(version >> 8) & 0xff}.{version & 0xff}";

    public unsafe LoadedLibrary Load(FfmpegLibrarySpec spec)
    {
        var trace = new List<string>();
        var handle = IntPtr.Zero;
        string? path = null;
        foreach (var directory in _searchDirectories)
        {
            var candidate = Path.Combine(directory, spec.Soname);
            if (!File.Exists(candidate))
            {
                trace.Add($"{candidate}: no such file");
                continue;
            }

            if (TryLoad(candidate, trace, out handle))
            {
                path = candidate;
                break;
            }
        }

        if (handle == IntPtr.Zero && _searchSystem && TryLoad(spec.Soname, trace, out handle))
        {
            path = FindMappedPath(spec.Soname) ?? spec.Soname;
        }

        if (handle == IntPtr.Zero)
        {
            var others = _searchSystem ? OtherMajorsPresent(spec) : [];
            var found = others.Count == 0 ? "" : $"; found {string.Join(", ", others)}, but this build needs major {spec.ExpectedMajor}";
            return new LoadedLibrary(spec, IntPtr.Zero, null, null, string.Join("; ", trace),
                $"{spec.Soname} not found{found} (FFmpeg 5.1: {spec.Name} {spec.ExpectedMajor}); {InstallHint([spec])}");
        }

        trace.Add($"{spec.Soname}: loaded {path}");
        if (!NativeLibrary.TryGetExport(handle, spec.VersionExport, out var export))
        {
            return new LoadedLibrary(spec, IntPtr.Zero, path, null, string.Join("; ", trace),
                $"{path} has no {spec.VersionExport}() export; it is not {spec.Name}; {InstallHint([spec])}");
        }

        var version = ((delegate* unmanaged<uint>)export)();
        var major = (int)(version >> 16);
        if (major != spec.ExpectedMajor)
        {
            return new LoadedLibrary(spec, IntPtr.Zero, path, version, string.Join("; ", trace),
                $"{path} is {spec.Name} {FormatVersion(version)} (major {major}), but this build needs {spec.Name} major {spec.ExpectedMajor} (FFmpeg 5.1); {InstallHint([spec])}");
        }

        return new LoadedLibrary(spec, handle, path, version, string.Join("; ", trace), null);
    }

    private static bool TryLoad(string nameOrPath, List<string> trace, out nint handle)
    {
        try
        {
            handle = NativeLibrary.Load(nameOrPath);
            return true;
        }
        catch (DllNotFoundException e)
        {
            trace.Add($"{nameOrPath}: {e.Message}");
        }
        catch (BadImageFormatException e)
        {
            trace.Add($"{nameOrPath}: not a loadable library ({e.Message})");
        }

        handle = IntPtr.Zero;
        return false;
    }

    /// <summary>For the error message only: which other majors of the library are installed.</summary>
    private static List<string> OtherMajorsPresent(FfmpegLibrarySpec spec)
    {
        var found = new List<string>();
        for (var major = spec.ExpectedMajor - 3; major <= spec.ExpectedMajor + 4; major++)
        {
            if (major != spec.ExpectedMajor && NativeLibrary.TryLoad($"{spec.Name}.so.{major}", out var other))
            {
                found.Add($"{spec.Name}.so.{major}");
                NativeLibrary.Free(other);
            }
        }

        return found;
    }

    /// <summary>The file a soname was mapped from, read from /proc/self/maps (Linux); null elsewhere.</summary>
    private static string? FindMappedPath(string soname)
    {
        const string Maps = "/proc/self/maps";
        if (!File.Exists(Maps))
        {
            return null;
        }

        foreach (var line in File.ReadLines(Maps))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                continue;
            }

            var file = line[slash..];
            if (Path.GetFileName(file).StartsWith(soname, StringComparison.Ordinal))
            {
                return file;
            }
        }

        return null;
    }
}
