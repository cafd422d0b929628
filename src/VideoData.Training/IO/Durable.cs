using System.Runtime.InteropServices;
using System.Text;

namespace VideoData.Training.IO;

/// <summary>
/// Makes finished files and renames survive a machine crash, not just a process crash: a rename only publishes
/// what the disk already holds once the file's data and then its folder entry have been flushed (fsync).
/// </summary>
internal static class Durable
{
    private const int ReadOnly = 0;
    private const int Directory = 0x10000; // O_DIRECTORY on Linux (every architecture .NET runs on there)
    private const int CloseOnExec = 0x80000; // O_CLOEXEC

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

        var name = Encoding.UTF8.GetBytes(Path.GetFullPath(path) + "\0");
        var fd = Native.Open(name, ReadOnly | Directory | CloseOnExec);
        if (fd < 0)
        {
            throw new IOException($"Cannot open folder '{path}' to flush it to disk (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Native.Fsync(fd) != 0)
            {
                throw new IOException($"Flushing folder '{path}' to disk failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Native.Close(fd);
        }
    }

    private static class Native
    {
#pragma warning disable SYSLIB1054 // a byte array and ints: LibraryImport would need unsafe code in this project
        [DllImport("libc.so.6", EntryPoint = "open", ExactSpelling = true, SetLastError = true)]
        public static extern int Open(byte[] path, int flags);

        [DllImport("libc.so.6", EntryPoint = "fsync", ExactSpelling = true, SetLastError = true)]
        public static extern int Fsync(int fd);

        [DllImport("libc.so.6", EntryPoint = "close", ExactSpelling = true, SetLastError = true)]
        public static extern int Close(int fd);
#pragma warning restore SYSLIB1054
    }
}
