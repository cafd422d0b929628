using System.Diagnostics;
using VideoData.Testing;

namespace VideoData.Cli.Tests;

/// <summary>
/// Runs the real <c>videodata</c> program as the ranks of an Open MPI job:
/// <c>mpirun --allow-run-as-root --oversubscribe -np N dotnet exec videodata.dll ...</c> (CI runs as root on 2 cores).
/// Every run carries a marker variable so a test can find its rank processes (<see cref="FindRank"/>) and make sure
/// none outlives it (<see cref="KillLeftovers"/>).
/// </summary>
internal sealed class MpiRunner : IDisposable
{
    private const string Marker = "VIDEODATA_TEST_MPI_RUN";

    /// <summary>Launcher variables of whatever started the tests, which mpirun would pass on to the ranks.</summary>
    private static readonly string[] Inherited =
    [
        "RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_JOB_ID", "SLURM_STEP_ID",
        "PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
    ];

    private readonly string _marker = Guid.NewGuid().ToString("N");

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Starts <paramref name="ranks"/> ranks of <c>videodata</c> with <paramref name="arguments"/>.</summary>
    public Process Start(int ranks, params string[] arguments)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "videodata.dll");
        var start = new ProcessStartInfo("mpirun") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var argument in new[] { "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "-x", Marker, "-x", "TERM", "dotnet", "exec", dll })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var name in Inherited.Concat(["VIDEODATA_S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"]))
        {
            start.Environment.Remove(name);
        }

        start.Environment[Marker] = _marker;
        start.Environment["TERM"] = "dumb";
        try
        {
            return Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("mpirun is not installed: run infra/scripts/setup.sh --tests (Debian's openmpi-bin).", ex);
        }
    }

    /// <summary>Runs to completion, at most <paramref name="timeout"/>; a job still running then is killed and the test fails.</summary>
    public async Task<Result> RunAsync(int ranks, TimeSpan timeout, params string[] arguments)
    {
        using var process = Start(ranks, arguments);
        return await WaitAsync(process, timeout, string.Join(' ', arguments));
    }

    /// <summary>Waits for a started job, at most <paramref name="timeout"/>.</summary>
    public async Task<Result> WaitAsync(Process process, TimeSpan timeout, string what)
    {
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            KillLeftovers();
            throw new TimeoutException($"mpirun ... videodata {what} did not finish within {timeout}.");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The process id of rank <paramref name="rank"/> of this runner's job, or null while it has not started.</summary>
    public int? FindRank(int rank) => RankProcesses().Where(p => p.Rank == rank).Select(p => (int?)p.Pid).FirstOrDefault();

    /// <summary>The rank processes of this runner's jobs that are still alive.</summary>
    public IReadOnlyList<(int Pid, int Rank)> RankProcesses()
    {
        var found = new List<(int, int)>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out var pid))
            {
                continue;
            }

            string[] environment;
            try
            {
                environment = File.ReadAllText(Path.Combine(folder, "environ")).Split('\0');
                var state = File.ReadAllText(Path.Combine(folder, "stat"));
                if (state[(state.LastIndexOf(')') + 2)..].StartsWith('Z'))
                {
                    continue; // a zombie is dead already
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            if (!environment.Contains($"{Marker}={_marker}"))
            {
                continue;
            }

            var rankVariable = environment.FirstOrDefault(e => e.StartsWith("OMPI_COMM_WORLD_RANK=", StringComparison.Ordinal));
            if (rankVariable is not null && Path.GetFileName(File.ReadAllText(Path.Combine(folder, "cmdline")).Split('\0')[0]) == "dotnet")
            {
                found.Add((pid, int.Parse(rankVariable["OMPI_COMM_WORLD_RANK=".Length..], System.Globalization.CultureInfo.InvariantCulture)));
            }
        }

        return found;
    }

    /// <summary>Kills any process of this runner's jobs still alive (a test that failed half-way).</summary>
    public void KillLeftovers()
    {
        foreach (var (pid, _) in RankProcesses())
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone in the meantime.
            }
        }
    }

    public void Dispose() => KillLeftovers();
}
