using VideoData.Testing;

namespace VideoData.Infra.Tests.Build;

/// <summary>
/// The TorchSharp backend switch (<c>-p:TorchBackend</c>, Directory.Build.props/.targets, Directory.Packages.props),
/// restored for real on a copy of the build files and the projects that reference TorchSharp, against an empty local
/// package source: so no package registry is asked for anything, and packages come only from this machine's cache.
/// </summary>
public sealed class GpuBuildSwitchTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-backend-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Restore_Cuda_WithoutTheCudaPackage_FailsNamingTorchSharpCudaLinux()
    {
        var result = await RestoreAsync("-p:TorchBackend=cuda");

        Assert.NotEqual(0, result.ExitCode);
        // The version entry exists for cuda (no NU1010), and what is missing is named: our line, then NuGet's NU1101.
        Assert.DoesNotContain("NU1010", result.Output, StringComparison.Ordinal);
        Assert.Contains("TorchBackend=cuda: VideoData.Features needs the NuGet package TorchSharp-cuda-linux", result.Output, StringComparison.Ordinal);
        Assert.Contains("error NU1101: Unable to find package TorchSharp-cuda-linux", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("TorchSharp-cpu", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_UnknownBackend_FailsBeforeRestoreNamingTheValidOnes()
    {
        var result = await RestoreAsync("-p:TorchBackend=cuda-12.8");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error VD0001: TorchBackend 'cuda-12.8' is not supported: use -p:TorchBackend=cpu", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("NU1101", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_DefaultBackend_RestoresTorchSharpCpuFromTheCacheAlone()
    {
        var result = await RestoreAsync();

        Assert.True(result.ExitCode == 0, result.Output);
        var assets = File.ReadAllText(Path.Combine(_dir, "tree", "src", "VideoData.Features", "obj", "project.assets.json"));
        Assert.Contains("\"TorchSharp-cpu/0.107.0\"", assets, StringComparison.Ordinal);
        Assert.DoesNotContain("TorchSharp-cuda-linux", assets, StringComparison.Ordinal);
    }

    /// <summary>Copies the build files and the TorchSharp projects' chain into a scratch tree and restores VideoData.Features there.</summary>
    private async Task<ProcessRunner.Result> RestoreAsync(params string[] properties)
    {
        var tree = Path.Combine(_dir, "tree");
        foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "global.json", Path.Combine("infra", "build", "LibstdcxxFix.cs") })
        {
            Copy(file);
        }

        foreach (var project in new[] { "VideoData.Core", "VideoData.Storage", "VideoData.Features" })
        {
            Copy(Path.Combine("src", project, project + ".csproj"));
        }

        var emptySource = Directory.CreateDirectory(Path.Combine(_dir, "empty-source")).FullName;
        return await ProcessRunner.RunAsync(
            "dotnet",
            ["restore", Path.Combine("src", "VideoData.Features", "VideoData.Features.csproj"), "--source", emptySource, "-nologo", "-nodeReuse:false", .. properties],
            tree,
            TimeSpan.FromMinutes(5),
            new Dictionary<string, string?> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["MSBUILDDISABLENODEREUSE"] = "1" });

        void Copy(string relative)
        {
            var target = Path.Combine(tree, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(RepoPaths.Root, relative), target, overwrite: true);
        }
    }
}
