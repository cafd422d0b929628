using System.Reflection;
using System.Runtime.InteropServices;
using VideoData.Core.Failures;
using VideoData.Media.Native;

namespace VideoData.Media;

/// <summary>
/// Loads and checks the FFmpeg 5.1 shared libraries (libavutil 57, libavcodec 59, libavformat 59,
/// libswscale 6) that the in-process decoder binds to, and reports on them and on hardware
/// decoding for <c>videodata doctor</c>.
/// </summary>
/// <remarks>
/// Libraries are resolved by soname: first in the directories listed in
/// <c>VIDEODATA_FFMPEG_LIBRARY_PATH</c> (colon-separated), then through the system search path.
/// Any other major version is refused with a <see cref="NativeDependencyException"/> that says what
/// was found and how to install the right one. FFmpeg's own logging is silenced unless
/// <c>VIDEODATA_FFMPEG_LOG</c> is one of quiet, panic, fatal, error, warning, info, verbose, debug.
/// All members are thread-safe; loading happens once per process.
/// </remarks>
public static class FfmpegRuntime
{
    private static readonly Lazy<LoadState> s_state = new(LoadDefault, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<CudaDevice> s_cuda = new(CreateCudaDevice, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Loads the libraries (once) and reports what was found, without throwing when something is
    /// missing. The hardware check tries to create a <c>cuda</c> device (NVDEC).
    /// </summary>
    public static FfmpegRuntimeReport Inspect()
    {
        var state = s_state.Value;
        var libraries = state.Libraries.Select(library => new FfmpegLibraryStatus(
            library.Spec.Name,
            library.Spec.Soname,
            library.ResolvedPath,
            library.VersionText,
            library.Spec.ExpectedMajor,
            library.FoundMajor,
            library.Ok,
            library.Problem ?? library.Trace)).ToList();
        HardwareDecoderStatus cuda;
        string? version = null;
        if (state.Ok)
        {
            version = Interop.AvUtil.VersionInfoText();
            var device = s_cuda.Value;
            cuda = new HardwareDecoderStatus("cuda", device.Available, device.Available ? "available" : $"not available: {device.Reason}");
        }
        else
        {
            cuda = new HardwareDecoderStatus("cuda", false, "not available: the FFmpeg libraries did not load");
        }

        return new FfmpegRuntimeReport(libraries, version, cuda);
    }

    /// <summary>
    /// Makes sure the FFmpeg libraries are loaded and of the right version; throws
    /// <see cref="NativeDependencyException"/> (saying what was found, what is needed and how to
    /// install it) when they are not. Every entry point of this library calls it first.
    /// </summary>
    public static void EnsureLoaded()
    {
        var state = s_state.Value;
        if (!state.Ok)
        {
            throw new NativeDependencyException(state.Message);
        }
    }

    /// <summary>The process-wide CUDA device for NVDEC, created on first use; null with a reason when unusable.</summary>
    internal static BufferRefHandle? CudaDeviceOrNull(out string reason)
    {
        EnsureLoaded();
        var device = s_cuda.Value;
        reason = device.Reason;
        return device.Handle;
    }

    internal static LoadState Load(FfmpegLibraryLoader loader)
    {
        var loaded = new List<LoadedLibrary>();
        foreach (var spec in FfmpegLibraryLoader.FfmpegFive)
        {
            loaded.Add(loader.Load(spec));
        }

        return new LoadState(loaded);
    }

    private static LoadState LoadDefault()
    {
        var directories = (Environment.GetEnvironmentVariable("VIDEODATA_FFMPEG_LIBRARY_PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var state = Load(new FfmpegLibraryLoader(directories, searchSystem: true));
        if (state.Ok)
        {
            NativeLibrary.SetDllImportResolver(typeof(FfmpegRuntime).Assembly, state.Resolve);
            Interop.AvUtil.LogSetLevel(ParseLogLevel(Environment.GetEnvironmentVariable("VIDEODATA_FFMPEG_LOG")));
        }

        return state;
    }

    private static int ParseLogLevel(string? level) => level?.Trim().ToLowerInvariant() switch
    {
        null or "" or "quiet" => Interop.AvUtil.LogQuiet,
        "panic" => 0,
        "fatal" => 8,
        "error" => 16,
        "warning" => 24,
        "info" => 32,
        "verbose" => 40,
        "debug" => 48,
        _ => throw new NativeDependencyException(
            $"VIDEODATA_FFMPEG_LOG='{level}' is not a log level; use quiet, panic, fatal, error, warning, info, verbose or debug."),
    };

    private static unsafe CudaDevice CreateCudaDevice()
    {
        fixed (byte* name = "cuda"u8)
        {
            if (Interop.AvUtil.HwDeviceFindTypeByName(name) == Interop.AvUtil.HwDeviceTypeNone)
            {
                return new CudaDevice(null, "this FFmpeg build has no cuda hwaccel");
            }
        }

        AVBufferRef* device = null;
        var result = Interop.AvUtil.HwDeviceContextCreate(&device, Interop.AvUtil.HwDeviceTypeCuda, null, null, 0);
        if (result >= 0)
        {
            return new CudaDevice(new BufferRefHandle(device), "available");
        }

        var reason = $"av_hwdevice_ctx_create(cuda) failed: {Interop.AvUtil.ErrorText(result)}";
        if (!NativeLibrary.TryLoad("libcuda.so.1", out var cudaDriver))
        {
            reason += "; the NVIDIA driver library libcuda.so.1 is not installed";
        }
        else
        {
            NativeLibrary.Free(cudaDriver);
            reason += "; libcuda.so.1 is present, so no usable NVIDIA GPU was found (check nvidia-smi)";
        }

        return new CudaDevice(null, reason);
    }

    internal sealed record CudaDevice(BufferRefHandle? Handle, string Reason)
    {
        public bool Available => Handle is not null;
    }

    /// <summary>The libraries as loaded once for this process, and the resolver that hands them to LibraryImport.</summary>
    internal sealed class LoadState
    {
        public LoadState(IReadOnlyList<LoadedLibrary> libraries)
        {
            Libraries = libraries;
        }

        public IReadOnlyList<LoadedLibrary> Libraries { get; }

        public bool Ok => Libraries.All(library => library.Ok);

        public string Message
        {
            get
            {
                var problems = Libraries.Where(library => !library.Ok).Select(library => $"  {library.Problem} [tried: {library.Trace}]");
                var specs = FfmpegLibraryLoader.FfmpegFive;
                return "The FFmpeg 5.1 shared libraries VideoData needs are missing or of the wrong version:" + Environment.NewLine
                    + string.Join(Environment.NewLine, problems) + Environment.NewLine
                    + $"Needed: {string.Join(", ", specs.Select(s => $"{s.Name} {s.ExpectedMajor} ({s.Soname})"))}; "
                    + FfmpegLibraryLoader.InstallHint(specs) + ".";
            }
        }

        public nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
        {
            foreach (var library in Libraries)
            {
                if (library.Spec.LogicalName == libraryName)
                {
                    return library.Handle;
                }
            }

            return IntPtr.Zero;
        }
    }
}
