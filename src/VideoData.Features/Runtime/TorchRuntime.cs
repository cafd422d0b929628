using System.Reflection;
using System.Text.Json;
using VideoData.Build;
using TorchSharp;

namespace VideoData.Features.Runtime;

/// <summary>What <see cref="TorchRuntime.Inspect"/> found about TorchSharp and libtorch in this process.</summary>
/// <param name="Backend">The TorchSharp package flavour the tool was built with (<c>cpu</c> or <c>cuda</c>).</param>
/// <param name="TorchSharpVersion">The TorchSharp assembly version.</param>
/// <param name="LibTorchVersion">The libtorch version, from the package the build resolved, or null when unknown.</param>
/// <param name="Loaded">Whether the native libraries loaded and a tensor operation ran.</param>
/// <param name="LoadError">Why loading failed, when it did.</param>
/// <param name="CudaDevices">How many CUDA devices libtorch sees (0 with the CPU backend).</param>
/// <param name="Libstdcxx">The state of the build's libstdc++ compatibility fix for this output.</param>
public sealed record TorchRuntimeInfo(
    string Backend,
    string TorchSharpVersion,
    string? LibTorchVersion,
    bool Loaded,
    string? LoadError,
    int CudaDevices,
    LibstdcxxFixInfo Libstdcxx);

/// <summary>The libstdc++ fix (DESIGN §5) as it stands for this build output.</summary>
/// <param name="SystemLibrary">The system libstdc++ path, or null when none was found.</param>
/// <param name="SystemHasRequiredVersions">Whether the system library defines every version libLibTorchSharp.so needs.</param>
/// <param name="WeakenedVersions">Versions the build marked weak in this output's libLibTorchSharp.so.</param>
public sealed record LibstdcxxFixInfo(string? SystemLibrary, bool SystemHasRequiredVersions, IReadOnlyList<string> WeakenedVersions)
{
    /// <summary>A one-line summary for reports.</summary>
    public string Summary => (SystemHasRequiredVersions, WeakenedVersions.Count) switch
    {
        (true, 0) => "not needed (system libstdc++ has every required version)",
        (_, > 0) => $"applied: {string.Join(", ", WeakenedVersions)} marked weak",
        _ => "needed but not applied: rebuild with `dotnet build` so the build step runs",
    };
}

/// <summary>Reports on the TorchSharp runtime for <c>videodata doctor</c>.</summary>
public static class TorchRuntime
{
    /// <summary>Loads libtorch (if it is not loaded yet), runs a tiny operation and reports what it found. Never throws.</summary>
    public static TorchRuntimeInfo Inspect()
    {
        var backend = typeof(TorchRuntime).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "TorchBackend")?.Value ?? "unknown";
        var torchSharpVersion = typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "unknown";
        var libstdcxx = InspectLibstdcxx();
        try
        {
            using var scope = torch.NewDisposeScope();
            var sum = torch.ones(2, 2).sum().item<float>();
            if (sum != 4f)
            {
                return new TorchRuntimeInfo(backend, torchSharpVersion, LibTorchPackageVersion(), false, $"a 2x2 sum of ones gave {sum}", 0, libstdcxx);
            }

            var cudaDevices = torch.cuda.is_available() ? torch.cuda.device_count() : 0;
            return new TorchRuntimeInfo(backend, torchSharpVersion, LibTorchPackageVersion(), true, null, cudaDevices, libstdcxx);
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or NotSupportedException or InvalidOperationException or EntryPointNotFoundException)
        {
            return new TorchRuntimeInfo(backend, torchSharpVersion, LibTorchPackageVersion(), false, Innermost(ex).Message, 0, libstdcxx);
        }
    }

    private static LibstdcxxFixInfo InspectLibstdcxx()
    {
        var system = ElfVersions.FindSystemLibstdcxx();
        var library = Directory.Exists(AppContext.BaseDirectory)
            ? Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).FirstOrDefault()
            : null;
        if (system is null || library is null)
        {
            return new LibstdcxxFixInfo(system, system is not null, []);
        }

        var needs = ElfVersions.ReadNeeds(library).Where(n => n.File == ElfVersions.LibstdcxxSoname).ToList();
        var defined = ElfVersions.ReadDefinitions(system);
        var weakened = needs.Where(n => n.IsWeak && !defined.Contains(n.Version)).Select(n => n.Version).ToList();
        return new LibstdcxxFixInfo(system, needs.All(n => defined.Contains(n.Version)), weakened);
    }

    /// <summary>The libtorch package version from this application's deps.json (e.g. libtorch-cpu-linux-x64/2.10.0).</summary>
    private static string? LibTorchPackageVersion()
    {
        var deps = Directory.Exists(AppContext.BaseDirectory) ? Directory.EnumerateFiles(AppContext.BaseDirectory, "*.deps.json").FirstOrDefault() : null;
        if (deps is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(deps));
        if (!document.RootElement.TryGetProperty("libraries", out var libraries))
        {
            return null;
        }

        return libraries.EnumerateObject().Select(p => p.Name)
            .FirstOrDefault(name => name.StartsWith("libtorch-", StringComparison.Ordinal) && name.Contains("-linux", StringComparison.Ordinal))
            ?.Split('/') is [var package, var version] ? $"{version} ({package})" : null;
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex;
    }
}
