using VideoData.Build;

namespace VideoData.Core.Tests.Native;

/// <summary>
/// The decision logic and the patch of the build's libstdc++ fix, on a real copy of TorchSharp's
/// libLibTorchSharp.so taken from the NuGet package cache (never the cache's file itself).
/// </summary>
public sealed class LibstdcxxFixTests : IDisposable
{
    private const string Marker = "GLIBCXX_3.4.32";
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-elf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Decide_SystemHasTheVersion_NothingToWeaken()
    {
        var needs = ElfVersions.ReadNeeds(CopyOfPackageLibrary());
        var system = new HashSet<string>(needs.Select(n => n.Version), StringComparer.Ordinal);

        var toWeaken = ElfVersions.Decide(needs, system, out var unfixable);

        Assert.Empty(toWeaken);
        Assert.Empty(unfixable);
    }

    [Fact]
    public void Decide_SystemLacksOnlyTheMarkerVersion_WeakensExactlyIt()
    {
        var needs = ElfVersions.ReadNeeds(CopyOfPackageLibrary());
        var system = new HashSet<string>(needs.Select(n => n.Version).Where(v => v != Marker), StringComparer.Ordinal);

        var toWeaken = ElfVersions.Decide(needs, system, out var unfixable);

        var only = Assert.Single(toWeaken);
        Assert.Equal(Marker, only.Version);
        Assert.Equal(ElfVersions.LibstdcxxSoname, only.File);
        Assert.Empty(unfixable);
    }

    [Fact]
    public void Decide_SystemLacksAnotherVersion_ReportsItAsUnfixable()
    {
        var needs = ElfVersions.ReadNeeds(CopyOfPackageLibrary());
        var system = new HashSet<string>(needs.Select(n => n.Version).Where(v => v is not Marker and not "GLIBCXX_3.4.30"), StringComparer.Ordinal);

        var toWeaken = ElfVersions.Decide(needs, system, out var unfixable);

        Assert.Equal(Marker, Assert.Single(toWeaken).Version);
        Assert.Equal(["GLIBCXX_3.4.30"], unfixable);
    }

    [Fact]
    public void Weaken_OnThisSystem_MarksTheVersionWeakAndIsIdempotent()
    {
        var path = CopyOfPackageLibrary();
        var system = ElfVersions.ReadDefinitions(ElfVersions.FindSystemLibstdcxx() ?? throw new InvalidOperationException("no system libstdc++"));
        var original = File.ReadAllBytes(path);

        var first = ElfVersions.Decide(ElfVersions.ReadNeeds(path), system, out _);
        var patchedOnce = ElfVersions.Weaken(path, first);
        var afterFirst = File.ReadAllBytes(path);
        var second = ElfVersions.Decide(ElfVersions.ReadNeeds(path), system, out _);
        var patchedTwice = ElfVersions.Weaken(path, second);

        if (system.Contains(Marker))
        {
            // A libstdc++ from GCC 13 or later: the library is left exactly as it was.
            Assert.False(patchedOnce);
            Assert.Equal(original, afterFirst);
        }
        else
        {
            Assert.True(patchedOnce);
            Assert.True(ElfVersions.ReadNeeds(path).Single(n => n.Version == Marker).IsWeak);
            // Exactly two bytes (one vna_flags field) change.
            Assert.Equal(1, original.Zip(afterFirst).Count(p => p.First != p.Second));
        }

        Assert.Empty(second);
        Assert.False(patchedTwice);
        Assert.Equal(afterFirst, File.ReadAllBytes(path));
    }

    [Fact]
    public void ReadDefinitions_SystemLibstdcxx_HasTheGcc12Versions()
    {
        var definitions = ElfVersions.ReadDefinitions(ElfVersions.FindSystemLibstdcxx()!);

        Assert.Contains("GLIBCXX_3.4.30", definitions);
        Assert.Contains("CXXABI_1.3.13", definitions);
    }

    [Fact]
    public void ReadNeeds_NotAnElfFile_NamesTheFile()
    {
        var path = Path.Combine(_dir, "not-elf.so");
        File.WriteAllText(path, "hello");

        var error = Assert.Throws<InvalidDataException>(() => ElfVersions.ReadNeeds(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadNeeds_TruncatedElf_IsAClearErrorNotACrash()
    {
        var bytes = File.ReadAllBytes(CopyOfPackageLibrary());
        var path = Path.Combine(_dir, "truncated.so");
        File.WriteAllBytes(path, bytes.AsSpan(0, 4096).ToArray());

        var error = Assert.Throws<InvalidDataException>(() => ElfVersions.ReadNeeds(path));
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    private string CopyOfPackageLibrary()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var source = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(source), $"TorchSharp's native library is not in the package cache at {source}; run dotnet restore.");
        var copy = Path.Combine(_dir, $"libLibTorchSharp-{Guid.NewGuid():N}.so");
        File.Copy(source, copy);
        return copy;
    }
}
