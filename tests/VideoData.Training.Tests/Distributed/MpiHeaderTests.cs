using System.Diagnostics;
using VideoData.Training.Distributed;

namespace VideoData.Training.Tests.Distributed;

/// <summary>The MPI binding's constants and handle symbols, checked against the installed Open MPI mpi.h (libopenmpi-dev).</summary>
public sealed class MpiHeaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-mpi-h-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Constants_MatchTheInstalledHeader()
    {
        var include = new[] { "/usr/lib/x86_64-linux-gnu/openmpi/include", "/usr/lib/aarch64-linux-gnu/openmpi/include" }.FirstOrDefault(d => File.Exists(Path.Combine(d, "mpi.h")))
            ?? throw new InvalidOperationException("Open MPI's mpi.h is not installed; run infra/scripts/setup.sh --tests (libopenmpi-dev).");
        var source = Path.Combine(_dir, "constants.c");
        File.WriteAllText(source, """
            #include <stdio.h>
            #include <mpi.h>
            #define TEXT(x) #x
            #define EXPANDED(x) TEXT(x)
            int main(void) {
                printf("success=%d\n", MPI_SUCCESS);
                printf("serialized=%d\n", MPI_THREAD_SERIALIZED);
                printf("multiple=%d\n", MPI_THREAD_MULTIPLE);
                printf("error_string=%d\n", MPI_MAX_ERROR_STRING);
                printf("library_version=%d\n", MPI_MAX_LIBRARY_VERSION_STRING);
                printf("in_place=%ld\n", (long)MPI_IN_PLACE);
                printf("comm_world=%s\n", EXPANDED(MPI_COMM_WORLD));
                printf("float=%s\n", EXPANDED(MPI_FLOAT));
                printf("byte=%s\n", EXPANDED(MPI_BYTE));
                printf("sum=%s\n", EXPANDED(MPI_SUM));
                printf("errors_return=%s\n", EXPANDED(MPI_ERRORS_RETURN));
                return 0;
            }
            """);
        var executable = Path.Combine(_dir, "constants");
        Run("gcc", "-I" + include, "-o", executable, source);
        var values = Run(executable).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

        Assert.Equal(Interop.Mpi.Success.ToString(), values["success"]);
        Assert.Equal(Interop.Mpi.ThreadSerialized.ToString(), values["serialized"]);
        Assert.Equal(Interop.Mpi.ThreadMultiple.ToString(), values["multiple"]);
        Assert.Equal(Interop.Mpi.MaxErrorString.ToString(), values["error_string"]);
        Assert.Equal(Interop.Mpi.MaxLibraryVersionString.ToString(), values["library_version"]);
        Assert.Equal(Interop.Mpi.InPlaceValue.ToString(), values["in_place"]);
        // Each handle is the address of the exported global the binding looks up (mpi.h's OMPI_PREDEFINED_GLOBAL).
        Assert.Contains($"&({Interop.Mpi.CommWorldSymbol})", values["comm_world"], StringComparison.Ordinal);
        Assert.Contains($"&({Interop.Mpi.FloatSymbol})", values["float"], StringComparison.Ordinal);
        Assert.Contains($"&({Interop.Mpi.ByteSymbol})", values["byte"], StringComparison.Ordinal);
        Assert.Contains($"&({Interop.Mpi.SumSymbol})", values["sum"], StringComparison.Ordinal);
        Assert.Contains($"&({Interop.Mpi.ErrorsReturnSymbol})", values["errors_return"], StringComparison.Ordinal);
    }

    private static string Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start; run infra/scripts/setup.sh --tests.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} failed: {errors}");
        return output.Result;
    }
}
