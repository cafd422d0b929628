using System.Runtime.InteropServices;

namespace VideoData.Features.Runtime;

/// <summary>The C library calls the compute host needs (glibc on Linux): process settings libtorch reads, not FFmpeg's.</summary>
internal static partial class Interop
{
    /// <summary><c>libc.so.6</c>: the environment oneDNN reads (<see cref="OneDnnIsa"/>) and the allocator libtorch's CPU tensors come from (<see cref="NativeHeap"/>).</summary>
    internal static class Libc
    {
        private const string Library = "libc.so.6";

#pragma warning disable SYSLIB1054 // ints and ASCII names: nothing to marshal, and LibraryImport would need unsafe code in this project
        /// <summary><c>mallopt(3)</c>: 1 on success.</summary>
        [DllImport(Library, EntryPoint = "mallopt", ExactSpelling = true)]
        internal static extern int Mallopt(int parameter, int value);

        /// <summary><c>getenv(3)</c> on the native environment (not .NET's copy of it).</summary>
        [DllImport(Library, EntryPoint = "getenv", ExactSpelling = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        internal static extern IntPtr GetEnv(string name);

        /// <summary><c>setenv(3)</c>: 0 on success.</summary>
        [DllImport(Library, EntryPoint = "setenv", ExactSpelling = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        internal static extern int SetEnv(string name, string value, int overwrite);
#pragma warning restore SYSLIB1054
    }
}
