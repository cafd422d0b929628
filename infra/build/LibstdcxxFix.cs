// The libstdc++ compatibility fix for TorchSharp on Debian 12 (DESIGN §5).
//
// TorchSharp's libLibTorchSharp.so is linked against GCC 13's libstdc++ and so lists GLIBCXX_3.4.32
// among the versions it needs. Debian 12 ships GCC 12's libstdc++, which stops at 3.4.30, and the
// dynamic loader refuses the library. The only symbol under 3.4.32 is std::ios_base_library_init(),
// a marker that no relocation uses, so marking that one version requirement weak
// (vna_flags |= VER_FLG_WEAK) lets the loader accept the library and nothing else changes.
//
// This one file is compiled three ways: as an MSBuild inline task (RoslynCodeTaskFactory) that the
// build runs on its output's copy of the library, into VideoData.Core (so `videodata doctor` can
// report the state), and into the tests. Only versions on the allow-list are ever weakened.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace VideoData.Build;

/// <summary>A version a shared object needs from one of its dependencies (an ELF vernaux entry).</summary>
internal sealed class ElfVersionNeed
{
    public ElfVersionNeed(string file, string version, bool isWeak, long flagsOffset)
    {
        File = file;
        Version = version;
        IsWeak = isWeak;
        FlagsOffset = flagsOffset;
    }

    /// <summary>The soname the version is needed from, e.g. libstdc++.so.6.</summary>
    public string File { get; }

    /// <summary>The version name, e.g. GLIBCXX_3.4.32.</summary>
    public string Version { get; }

    /// <summary>Whether the requirement is already marked weak.</summary>
    public bool IsWeak { get; }

    /// <summary>File offset of the entry's vna_flags field.</summary>
    public long FlagsOffset { get; }
}

/// <summary>Reads and patches the GNU symbol-version sections of 64-bit little-endian ELF files.</summary>
internal static class ElfVersions
{
    /// <summary>Versions known to be safe to weaken: see the file header for why.</summary>
    public static readonly IReadOnlyCollection<string> SafeToWeaken = new[] { "GLIBCXX_3.4.32" };

    public const string LibstdcxxSoname = "libstdc++.so.6";

    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;

    /// <summary>The version requirements listed in <paramref name="path"/>'s .gnu.version_r section.</summary>
    public static IReadOnlyList<ElfVersionNeed> ReadNeeds(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var needs = new List<ElfVersionNeed>();
        foreach (var (offset, size, strtab, count) in Sections(bytes, path, ShtGnuVerneed))
        {
            long entry = offset;
            for (var i = 0; i < count; i++)
            {
                Check(bytes, entry, 16, path);
                var auxCount = U16(bytes, entry + 2);
                var file = Str(bytes, strtab, U32(bytes, entry + 4), path);
                long aux = entry + U32(bytes, entry + 8);
                for (var j = 0; j < auxCount; j++)
                {
                    Check(bytes, aux, 16, path);
                    var flags = U16(bytes, aux + 4);
                    var name = Str(bytes, strtab, U32(bytes, aux + 8), path);
                    needs.Add(new ElfVersionNeed(file, name, (flags & VerFlagWeak) != 0, aux + 4));
                    aux += U32(bytes, aux + 12);
                }

                var next = U32(bytes, entry + 12);
                if (next == 0)
                {
                    break;
                }

                entry += next;
            }

            _ = size;
        }

        return needs;
    }

    /// <summary>The version names defined in <paramref name="path"/>'s .gnu.version_d section.</summary>
    public static ISet<string> ReadDefinitions(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (offset, _, strtab, count) in Sections(bytes, path, ShtGnuVerdef))
        {
            long entry = offset;
            for (var i = 0; i < count; i++)
            {
                Check(bytes, entry, 20, path);
                var auxCount = U16(bytes, entry + 6);
                long aux = entry + U32(bytes, entry + 12);
                for (var j = 0; j < auxCount; j++)
                {
                    Check(bytes, aux, 8, path);
                    names.Add(Str(bytes, strtab, U32(bytes, aux), path));
                    aux += U32(bytes, aux + 4);
                }

                var next = U32(bytes, entry + 16);
                if (next == 0)
                {
                    break;
                }

                entry += next;
            }
        }

        return names;
    }

    /// <summary>
    /// The decision: which of the library's strong libstdc++ requirements must be weakened for it to
    /// load against a libstdc++ that defines <paramref name="systemVersions"/>. Requirements the system
    /// lacks that are not on the allow-list are returned in <paramref name="unfixable"/>.
    /// </summary>
    public static IReadOnlyList<ElfVersionNeed> Decide(IEnumerable<ElfVersionNeed> needs, ISet<string> systemVersions, out IReadOnlyList<string> unfixable)
    {
        var missing = needs.Where(n => n.File == LibstdcxxSoname && !n.IsWeak && !systemVersions.Contains(n.Version)).ToList();
        unfixable = missing.Where(n => !SafeToWeaken.Contains(n.Version)).Select(n => n.Version).ToList();
        return missing.Where(n => SafeToWeaken.Contains(n.Version)).ToList();
    }

    /// <summary>
    /// Marks <paramref name="toWeaken"/> weak in <paramref name="path"/>: written to a temporary file
    /// beside it and renamed over it (so a hard link into a package cache is never modified), keeping
    /// the original modification time so incremental copies stay incremental. Returns false when there
    /// was nothing to do.
    /// </summary>
    public static bool Weaken(string path, IReadOnlyList<ElfVersionNeed> toWeaken)
    {
        if (toWeaken.Count == 0)
        {
            return false;
        }

        var bytes = File.ReadAllBytes(path);
        foreach (var need in toWeaken)
        {
            var flags = (ushort)(U16(bytes, need.FlagsOffset) | VerFlagWeak);
            bytes[need.FlagsOffset] = (byte)flags;
            bytes[need.FlagsOffset + 1] = (byte)(flags >> 8);
        }

        // Copy first so the temporary file keeps the original's permissions, then overwrite its bytes;
        // the rename never modifies a file that is a hard link into a package cache.
        var stamp = File.GetLastWriteTimeUtc(path);
        var temp = path + ".weakening." + Guid.NewGuid().ToString("N");
        File.Copy(path, temp);
        File.WriteAllBytes(temp, bytes);
        File.SetLastWriteTimeUtc(temp, stamp);
        File.Replace(temp, path, null);
        return true;
    }

    /// <summary>The system's libstdc++.so.6, searched where Debian and other distributions keep it; null if none.</summary>
    public static string? FindSystemLibstdcxx()
    {
        string[] dirs =
        {
            "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu",
            "/usr/lib64", "/lib64", "/usr/lib", "/lib",
        };
        return dirs.Select(d => Path.Combine(d, LibstdcxxSoname)).FirstOrDefault(File.Exists);
    }

    private static IEnumerable<(long Offset, long Size, long StrtabOffset, uint Count)> Sections(byte[] b, string path, uint type)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
        {
            throw new InvalidDataException($"'{path}' is not an ELF file.");
        }

        if (b[4] != 2 || b[5] != 1)
        {
            throw new InvalidDataException($"'{path}' is not a 64-bit little-endian ELF file (class {b[4]}, data {b[5]}).");
        }

        var shoff = (long)U64(b, 0x28);
        var shentsize = U16(b, 0x3A);
        var shnum = U16(b, 0x3C);
        Check(b, shoff, (long)shentsize * shnum, path);
        for (var i = 0; i < shnum; i++)
        {
            var sh = shoff + ((long)i * shentsize);
            if (U32(b, sh + 4) != type)
            {
                continue;
            }

            var link = U32(b, sh + 0x28);
            var strtabHeader = shoff + ((long)link * shentsize);
            Check(b, strtabHeader, shentsize, path);
            yield return ((long)U64(b, sh + 0x18), (long)U64(b, sh + 0x20), (long)U64(b, strtabHeader + 0x18), U32(b, sh + 0x2C));
        }
    }

    private static void Check(byte[] b, long offset, long length, string path)
    {
        if (offset < 0 || length < 0 || offset + length > b.Length)
        {
            throw new InvalidDataException($"'{path}' is truncated or malformed: a structure at offset {offset} runs past the end of the file.");
        }
    }

    private static ushort U16(byte[] b, long o) => (ushort)(b[o] | (b[o + 1] << 8));

    private static uint U32(byte[] b, long o) => (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24));

    private static ulong U64(byte[] b, long o) => U32(b, o) | ((ulong)U32(b, o + 4) << 32);

    private static string Str(byte[] b, long strtab, uint index, string path)
    {
        var start = strtab + index;
        Check(b, start, 1, path);
        var end = start;
        while (end < b.Length && b[end] != 0)
        {
            end++;
        }

        return System.Text.Encoding.ASCII.GetString(b, (int)start, (int)(end - start));
    }
}

#if !VIDEODATA_NO_MSBUILD
/// <summary>
/// Build step: for each given copy of libLibTorchSharp.so, weakens the libstdc++ version requirements
/// the system's libstdc++ lacks and that are safe to weaken. Does nothing when the system has them.
/// </summary>
public sealed class WeakenMissingLibstdcxxVersions : Microsoft.Build.Utilities.Task
{
    [Microsoft.Build.Framework.Required]
    public Microsoft.Build.Framework.ITaskItem[] Libraries { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

    /// <summary>Override of the system libstdc++ path, for tests and unusual layouts.</summary>
    public string? SystemLibstdcxx { get; set; }

    public override bool Execute()
    {
        var system = string.IsNullOrEmpty(SystemLibstdcxx) ? ElfVersions.FindSystemLibstdcxx() : SystemLibstdcxx;
        if (system is null)
        {
            Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, "VideoData: no system libstdc++.so.6 found; TorchSharp libraries left as they are.");
            return true;
        }

        var defined = ElfVersions.ReadDefinitions(system);
        foreach (var item in Libraries)
        {
            var path = item.GetMetadata("FullPath");
            var toWeaken = ElfVersions.Decide(ElfVersions.ReadNeeds(path), defined, out var unfixable);
            if (ElfVersions.Weaken(path, toWeaken))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, $"VideoData: {system} lacks {string.Join(", ", toWeaken.Select(n => n.Version))}; marked weak in {path}.");
            }

            if (unfixable.Count > 0)
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, $"VideoData: {path} also needs {string.Join(", ", unfixable)} which {system} lacks and which are not known to be safe to weaken; it will not load here. Use a newer libstdc++ (GCC 13+).");
            }
        }

        return true;
    }
}
#endif
