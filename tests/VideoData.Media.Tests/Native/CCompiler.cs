using System.Diagnostics;

namespace VideoData.Media.Tests.Native;

/// <summary>Compiles small C programs and libraries with gcc against the installed FFmpeg headers.</summary>
internal static class CCompiler
{
    /// <summary>Debian's multiarch include directory, where libavcodec-dev puts the headers.</summary>
    private static readonly string[] IncludeDirectories = ["/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu", "/usr/include"];

    public static void Compile(string sourceFile, string outputFile, params string[] extraArguments)
    {
        var header = IncludeDirectories.FirstOrDefault(d => File.Exists(Path.Combine(d, "libavcodec", "avcodec.h")))
            ?? throw new InvalidOperationException("The FFmpeg headers (libavcodec/avcodec.h) are not installed; run infra/scripts/setup.sh --tests (libavcodec-dev etc.).");
        var start = new ProcessStartInfo("gcc")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var argument in (string[])["-I" + header, "-o", outputFile, sourceFile, .. extraArguments])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("gcc did not start; run infra/scripts/setup.sh --tests.");
        var errors = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"gcc failed on {sourceFile}: {errors}");
        }
    }

    public static string Run(string executable)
    {
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return output;
    }
}
