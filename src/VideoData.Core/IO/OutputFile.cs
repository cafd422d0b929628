using System.Runtime.InteropServices;

namespace VideoData.Core.IO;

/// <summary>
/// Publishes an output to a path a user named (<c>--out</c>): atomically when the path is, or will be, a
/// regular file; in place when it is anything else.
/// </summary>
/// <remarks>
/// Invariants kept here, for every command that writes a user-given path:
/// <list type="bullet">
/// <item>A path that does not exist, or is a regular file, is written under a temporary name beside it and
/// renamed onto it (DESIGN §4: a reader sees the old file or the whole new one).</item>
/// <item>A path that exists and is not a regular file (character or block device such as <c>/dev/null</c>,
/// FIFO, socket, or a symbolic link such as <c>/dev/stdout</c>) is never renamed over, deleted or given a
/// temporary sibling: it is opened and written in place, and any temporary file lives in the system's
/// temporary folder. Renaming over <c>/dev/null</c> as root replaces the machine's <c>/dev/null</c> with a
/// regular file for every process; a temporary sibling of it fills <c>/dev</c>.</item>
/// </list>
/// The file type is read with <c>statx</c> without following links; where that call is not available
/// (not Linux) any existing non-directory path that is a symbolic link is written in place and any other
/// existing one is treated as a regular file.
/// </remarks>
public static class OutputFile
{
    /// <summary>
    /// True when <paramref name="path"/> exists and is not a regular file, so an output to it must be
    /// written in place (never by rename).
    /// </summary>
    public static bool IsWrittenInPlace(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return TypeOf(path) is FileType.Other or FileType.SymbolicLink;
    }

    /// <summary>
    /// A fresh temporary path for building the output of <paramref name="path"/>: beside it (same file
    /// system, so the final rename is atomic) when it is published by rename, else in the system's
    /// temporary folder. The file does not exist yet; <paramref name="tag"/> goes into its name.
    /// </summary>
    public static string TemporaryPathFor(string path, string tag = "tmp")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var name = $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.{tag}";
        return IsWrittenInPlace(full)
            ? Path.Combine(Path.GetTempPath(), "videodata-out" + name)
            : Path.Combine(Path.GetDirectoryName(full)!, name);
    }

    /// <summary>
    /// Publishes the finished <paramref name="temporary"/> file (from <see cref="TemporaryPathFor"/>) to
    /// <paramref name="path"/>: renamed over it when it is absent or a regular file; else its bytes are copied
    /// into <paramref name="path"/> opened in place and the temporary file is removed.
    /// </summary>
    public static void Publish(string temporary, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(temporary);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!IsWrittenInPlace(path))
        {
            File.Move(temporary, path, overwrite: true);
            return;
        }

        using (var source = new FileStream(temporary, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
        using (var target = OpenInPlace(path))
        {
            source.CopyTo(target, 1 << 16);
        }

        File.Delete(temporary);
    }

    /// <summary>
    /// Opens an existing non-regular <paramref name="path"/> (device, FIFO, link) for writing, without creating,
    /// truncating by rename or locking it. The caller owns the stream.
    /// </summary>
    public static FileStream OpenInPlace(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);

        // No FileMode.Create: O_TRUNC is meaningless for a device or FIFO. A link that leads to a regular file is
        // truncated by SetLength instead; a dangling link gets its target created (OpenOrCreate).
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite, 1 << 16);
        if (stream.CanSeek && TypeOfFollowingLinks(path) == FileType.Regular)
        {
            stream.SetLength(0);
        }

        return stream;
    }

    /// <summary>
    /// Writes <paramref name="path"/> with <paramref name="write"/>: into a temporary file published by
    /// <see cref="Publish"/> (rename, or a copy into a device/FIFO/link), so a reader of a regular file never
    /// sees part of it. The stream given to <paramref name="write"/> is readable, writable and seekable. With
    /// <paramref name="flushToDisk"/> the data is on disk before the rename. On failure the temporary file is
    /// removed and the exception propagates.
    /// </summary>
    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, bool flushToDisk = true, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temporary = TemporaryPathFor(full);
        try
        {
            var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true);
            await using (stream.ConfigureAwait(false))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (flushToDisk)
                {
                    stream.Flush(flushToDisk: true);
                }
            }

            Publish(temporary, full);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Removes a leftover temporary file, best effort (the original error matters more).</summary>
    public static void TryDelete(string temporary)
    {
        try
        {
            File.Delete(temporary);
        }
        catch (IOException)
        {
            // Named with a GUID and a leading dot: a leftover is harmless.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }

    internal enum FileType
    {
        Absent,
        Regular,
        Directory,
        SymbolicLink,
        Other,
    }

    internal static FileType TypeOf(string path) => Stat(path, followLinks: false);

    private static FileType TypeOfFollowingLinks(string path) => Stat(path, followLinks: true);

    private static FileType Stat(string path, bool followLinks)
    {
        if (OperatingSystem.IsLinux())
        {
            var buffer = new byte[StatxSize];
            if (Statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxType, buffer) == 0)
            {
                var mode = BitConverter.ToUInt16(buffer, StatxModeOffset) & FileTypeMask;
                return mode switch
                {
                    RegularMode => FileType.Regular,
                    DirectoryMode => FileType.Directory,
                    LinkMode => FileType.SymbolicLink,
                    _ => FileType.Other,
                };
            }

            // ENOENT and the like: treated as absent, so the caller creates it by rename (and any real problem
            // surfaces there with the system's message).
            return FileType.Absent;
        }

        FileSystemInfo info = new FileInfo(path);
        if (!info.Exists)
        {
            info = new DirectoryInfo(path);
            if (!info.Exists)
            {
                return FileType.Absent;
            }
        }

        return !followLinks && info.LinkTarget is not null ? FileType.SymbolicLink
            : info is DirectoryInfo ? FileType.Directory
            : FileType.Regular;
    }

    // struct statx has the same layout on every Linux architecture (unlike struct stat): stx_mode is the
    // 16-bit field at byte 28 of a 256-byte structure (linux/stat.h).
    private const int StatxSize = 256;
    private const int StatxModeOffset = 28;
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const int FileTypeMask = 0xF000;
    private const int RegularMode = 0x8000;
    private const int DirectoryMode = 0x4000;
    private const int LinkMode = 0xA000;

#pragma warning disable SYSLIB1054 // a string and a byte buffer: LibraryImport would need unsafe code in this project
    [DllImport("libc.so.6", EntryPoint = "statx", ExactSpelling = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Statx(int directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buffer);
#pragma warning restore SYSLIB1054
}
