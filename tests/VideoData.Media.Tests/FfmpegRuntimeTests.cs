using VideoData.Core.Failures;
using VideoData.Media.Tests.Native;

namespace VideoData.Media.Tests;

public sealed class FfmpegRuntimeTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("videodata-loader-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Inspect_OnThisMachine_FindsFfmpegFiveOneWithExpectedMajors()
    {
        var report = FfmpegRuntime.Inspect();

        Assert.True(report.Ok, string.Join("; ", report.Libraries.Select(l => l.Detail)));
        Assert.Equal(["libavutil", "libavcodec", "libavformat", "libswscale"], report.Libraries.Select(l => l.Name));
        foreach (var library in report.Libraries)
        {
            Assert.Equal(library.ExpectedMajor, library.FoundMajor);
            Assert.StartsWith($"{library.ExpectedMajor}.", library.Version, StringComparison.Ordinal);
            Assert.Equal($"{library.Name}.so.{library.ExpectedMajor}", library.Soname);
            Assert.True(File.Exists(library.ResolvedPath), $"resolved path '{library.ResolvedPath}' does not exist");
        }

        Assert.Equal(59, report.Libraries.Single(l => l.Name == "libavcodec").FoundMajor);
        Assert.StartsWith("5.1", report.FfmpegVersion, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_CudaHwaccel_ReportsAvailabilityOrTheReason()
    {
        var cuda = FfmpegRuntime.Inspect().Cuda;

        Assert.Equal("cuda", cuda.Name);
        if (cuda.Available)
        {
            Assert.Equal("available", cuda.Detail);
        }
        else
        {
            Assert.StartsWith("not available: ", cuda.Detail, StringComparison.Ordinal);
            Assert.Contains("av_hwdevice_ctx_create(cuda) failed", cuda.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void EnsureLoaded_OnThisMachine_DoesNotThrow() => FfmpegRuntime.EnsureLoaded();

    [Fact]
    public void Load_WrongMajorVersion_IsRefusedSayingWhatWasFoundAndNeeded()
    {
        // A library with the right file name whose avcodec_version() reports FFmpeg 6's libavcodec 60.
        CompileFakeLibrary("libavcodec.so.59", "unsigned avcodec_version(void) { return (60u << 16) | (3u << 8) | 100u; }");
        var loader = new FfmpegLibraryLoader([_folder], searchSystem: false);

        var loaded = loader.Load(FfmpegLibraryLoader.FfmpegFive.Single(s => s.Name == "libavcodec"));

        Assert.False(loaded.Ok);
        Assert.Equal(60, loaded.FoundMajor);
        Assert.Contains("libavcodec 60.3.100 (major 60)", loaded.Problem, StringComparison.Ordinal);
        Assert.Contains("needs libavcodec major 59", loaded.Problem, StringComparison.Ordinal);
        Assert.Contains("apt-get install libavcodec59", loaded.Problem, StringComparison.Ordinal);
        Assert.Equal(IntPtr.Zero, loaded.Handle);
    }

    [Fact]
    public void Load_LibraryWithoutVersionExport_IsRefused()
    {
        CompileFakeLibrary("libswscale.so.6", "int something_else(void) { return 1; }");
        var loader = new FfmpegLibraryLoader([_folder], searchSystem: false);

        var loaded = loader.Load(FfmpegLibraryLoader.FfmpegFive.Single(s => s.Name == "libswscale"));

        Assert.False(loaded.Ok);
        Assert.Contains("has no swscale_version() export", loaded.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NothingFound_EnsureMessageListsEveryLibraryAndTheInstallCommand()
    {
        var state = FfmpegRuntime.Load(new FfmpegLibraryLoader([_folder], searchSystem: false));

        Assert.False(state.Ok);
        var exception = new NativeDependencyException(state.Message);
        foreach (var soname in (string[])["libavutil.so.57", "libavcodec.so.59", "libavformat.so.59", "libswscale.so.6"])
        {
            Assert.Contains($"{soname} not found", exception.Message, StringComparison.Ordinal);
        }

        Assert.Contains("sudo apt-get install libavutil57 libavcodec59 libavformat59 libswscale6", exception.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_folder, "libavcodec.so.59") + ": no such file", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FromSearchDirectory_PrefersItOverTheSystem()
    {
        CompileFakeLibrary("libavutil.so.57", "unsigned avutil_version(void) { return (57u << 16) | (99u << 8) | 1u; }");
        var loader = new FfmpegLibraryLoader([_folder], searchSystem: true);

        var loaded = loader.Load(FfmpegLibraryLoader.FfmpegFive.Single(s => s.Name == "libavutil"));

        Assert.True(loaded.Ok, loaded.Problem);
        Assert.Equal(Path.Combine(_folder, "libavutil.so.57"), loaded.ResolvedPath);
        Assert.Equal("57.99.1", loaded.VersionText);
    }

    private void CompileFakeLibrary(string fileName, string source)
    {
        var sourceFile = Path.Combine(_folder, fileName + ".c");
        File.WriteAllText(sourceFile, source);
        CCompiler.Compile(sourceFile, Path.Combine(_folder, fileName), "-shared", "-fPIC", $"-Wl,-soname,videodata-test-{fileName}");
    }
}
