using System.Runtime.InteropServices;

namespace VideoData.Core.IO;

/// <summary>
/// The one write-then-rename primitive of the project: every local file an output, a cache, a checkpoint or the local
/// blob store writes goes through here, so there is one temporary-name scheme, one durability rule and one rule for
/// paths that are not regular files. Writers that target a store (local or S3) go through
/// <c>IBlobStore.WriteAsync</c>/<c>WriteWithAsync</c>, whose local implementation is this class.
/// </summary>
/// <remarks>
/// Invariants kept here:
/// <list type="bullet">
/// <item>A path that does not exist, or is a regular file, is written under a temporary name beside it and
/// renamed onto it (DESIGN §4: a reader sees the old file or the whole new one).</item>
/// <item>Every temporary name is <c>.videodata-tmp-{target file name}-{32 hex digits}</c> (<see cref="TemporaryNameFor"/>),
/// beside its target, so a sweep that knows a target's name (<see cref="IsTemporaryNameOf"/>) finds every leftover of
/// it and nothing else. A temporary folder (a checkpoint being assembled) follows the same scheme.</item>
/// <item>Durable writes (<see cref="WriteAsync"/> and <see cref="Write"/> with <c>flushToDisk</c>) flush the file's data to
/// disk before the rename and the folder entry after it, so a machine crash leaves the old file or the whole new one,
/// not an empty file under the final name.</item>
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

    /// <summary>The prefix of every temporary name (see <see cref="TemporaryNameFor"/>).</summary>
    public const string TemporaryPrefix = ".videodata-tmp-";

    /// <summary>
    /// A fresh temporary name for building the file (or folder) named <paramref name="fileName"/>:
    /// <c>.videodata-tmp-{fileName}-{guid}</c>, with <paramref name="extension"/> appended when given (a tool that picks its
    /// format from the extension, such as ffmpeg).
    /// </summary>
    public static string TemporaryNameFor(string fileName, string? extension = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        return $"{TemporaryPrefix}{fileName}-{Guid.NewGuid():N}{extension}";
    }

    /// <summary>Whether <paramref name="name"/> (a file or folder name, not a path) is a temporary name of this scheme.</summary>
    public static bool IsTemporaryName(string name) => name.StartsWith(TemporaryPrefix, StringComparison.Ordinal);

    /// <summary>Whether <paramref name="name"/> is a temporary name made for the target <paramref name="fileName"/> (never another target's).</summary>
    public static bool IsTemporaryNameOf(string name, string fileName) =>
        name.Length >= TemporaryPrefix.Length + fileName.Length + 33
        && name.StartsWith(TemporaryPrefix + fileName + "-", StringComparison.Ordinal)
        && IsGuid(name.AsSpan(TemporaryPrefix.Length + fileName.Length + 1, 32));

    /// <summary>
    /// A fresh temporary path for building the output of <paramref name="path"/>: beside it (same file
    /// system, so the final rename is atomic) when it is published by rename, else in the system's
    /// temporary folder. The file does not exist yet; its name follows <see cref="TemporaryNameFor"/>.
    /// </summary>
    public static string TemporaryPathFor(string path, string? extension = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var name = TemporaryNameFor(Path.GetFileName(full), extension);
        return IsWrittenInPlace(full)
            ? Path.Combine(Path.GetTempPath(), name)
            : Path.Combine(Path.GetDirectoryName(full)!, name);
    }

    /// <summary>
    /// Publishes the finished <paramref name="temporary"/> file (from <see cref="TemporaryPathFor"/>) to
    /// <paramref name="path"/>: renamed over it when it is absent or a regular file; else its bytes are copied
    /// into <paramref name="path"/> opened in place and the temporary file is removed.
    /// </summary>
    public static void Publish(string temporary, string path) => Publish(temporary, path, flushFolder: false);

    /// <summary>
    /// Writes <paramref name="path"/> with <paramref name="write"/> the way <see cref="WriteAsync"/> does, synchronously
    /// (small files: pointers, caches, pages).
    /// </summary>
    public static void Write(string path, Action<Stream> write, bool flushToDisk = true)
    {
        ArgumentNullException.ThrowIfNull(write);

        // Nothing in the writer awaits, so this completes synchronously: one code path for both forms.
        WriteAsync(path, (stream, _) =>
        {
            write(stream);
            return Task.CompletedTask;
        }, flushToDisk).GetAwaiter().GetResult();
    }

    /// <summary>Flushes the data of the file at <paramref name="path"/> to the disk.</summary>
    public static void FlushFile(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
        file.Flush(flushToDisk: true);
    }

    /// <summary>
    /// Flushes the entries of the folder at <paramref name="path"/> (files created, renamed or removed in it) to the disk.
    /// .NET cannot open a folder as a stream, so this calls <c>open(O_DIRECTORY)</c> and <c>fsync</c> directly; on
    /// systems other than Linux it does nothing (their rename durability is not this code's concern).
    /// </summary>
    public static void FlushFolder(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(Path.GetFullPath(path), OpenReadOnly | OpenDirectory | OpenCloseOnExec);
        if (fd < 0)
        {
            throw new IOException($"Cannot open folder '{path}' to flush it to disk (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"Flushing folder '{path}' to disk failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
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

            // The data is on disk already (flushed above); the folder flush makes the rename itself survive a crash.
            Publish(temporary, full, flushFolder: flushToDisk);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static void Publish(string temporary, string path, bool flushFolder)
    {
        ArgumentException.ThrowIfNullOrEmpty(temporary);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!IsWrittenInPlace(path))
        {
            File.Move(temporary, path, overwrite: true);
            if (flushFolder)
            {
                FlushFolder(Path.GetDirectoryName(Path.GetFullPath(path))!);
            }

            return;
        }

        using (var source = new FileStream(temporary, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
        using (var target = OpenInPlace(path))
        {
            source.CopyTo(target, 1 << 16);
        }

        File.Delete(temporary);
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
    private const int OpenReadOnly = 0;
    private const int OpenDirectory = 0x10000; // O_DIRECTORY on Linux (every architecture .NET runs on there)
    private const int OpenCloseOnExec = 0x80000; // O_CLOEXEC

    private static bool IsGuid(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return false;
            }
        }

        return true;
    }

#pragma warning disable SYSLIB1054 // a string and a byte buffer: LibraryImport would need unsafe code in this project
    [DllImport("libc.so.6", EntryPoint = "statx", ExactSpelling = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Statx(int directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buffer);

    [DllImport("libc.so.6", EntryPoint = "open", ExactSpelling = true, SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc.so.6", EntryPoint = "fsync", ExactSpelling = true, SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Fsync(int fd);

    [DllImport("libc.so.6", EntryPoint = "close", ExactSpelling = true, SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Close(int fd);
#pragma warning restore SYSLIB1054
}
