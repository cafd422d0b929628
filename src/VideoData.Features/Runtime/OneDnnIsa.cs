namespace VideoData.Features.Runtime;

/// <summary>
/// The widest instruction set oneDNN (libtorch's CPU convolution library) may use, capped at AVX2 by default.
/// On AVX-512 machines (the development host is an AMD EPYC with AVX-512, under a hypervisor) oneDNN 3.7's AVX-512
/// kernels for S3D-G's 3-D convolutions put the parity input off the reference (see <c>infra/scripts/test.sh</c>), and
/// now and then turn one forward pass into NaN: in 5 of about 45 resumed preprocessing runs without the cap, never in
/// 33 with it (the whole-video NaN features of interrupted-then-resumed runs; see the Features README). The launcher
/// (<c>infra/scripts/videodata</c>), the container image and <c>test.sh</c> already set <c>ONEDNN_MAX_CPU_ISA=AVX2</c>;
/// this makes the program and the library do the same however they are started (<c>dotnet exec</c>, a scheduler
/// running the binary, an in-process caller). A value the caller set wins (<c>ONEDNN_MAX_CPU_ISA=ALL</c> restores the
/// widest kernels).
/// </summary>
internal static class OneDnnIsa
{
    /// <summary>The variable oneDNN reads once, when it first dispatches a kernel.</summary>
    public const string Variable = "ONEDNN_MAX_CPU_ISA";

    /// <summary>The variable's older name, which oneDNN still reads.</summary>
    public const string LegacyVariable = "DNNL_MAX_CPU_ISA";

    /// <summary>The default cap.</summary>
    public const string DefaultCap = "AVX2";

    private static readonly Lock s_gate = new();

    /// <summary>
    /// Sets <see cref="Variable"/> to <see cref="DefaultCap"/> in the process's native environment (where oneDNN reads it)
    /// unless it or <see cref="LegacyVariable"/> is already set. Call before the first convolution runs; oneDNN ignores a
    /// later change. Returns whether it set the cap. Idempotent.
    /// </summary>
    public static bool CapUnlessSet()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        lock (s_gate)
        {
            if (Interop.Libc.GetEnv(Variable) != IntPtr.Zero || Interop.Libc.GetEnv(LegacyVariable) != IntPtr.Zero)
            {
                return false;
            }

            // The native environment, not Environment.SetEnvironmentVariable: on Unix that only changes .NET's own copy.
            return Interop.Libc.SetEnv(Variable, DefaultCap, 0) == 0;
        }
    }
}
