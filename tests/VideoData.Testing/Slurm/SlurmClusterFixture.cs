using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace VideoData.Testing.Slurm;

/// <summary>
/// A real single-node Slurm cluster on loopback (slurmctld, slurmd and munged, started by
/// <c>infra/slurm/local-cluster.sh up</c>, which installs Debian's slurm-wlm and munge when missing), with its
/// own state folder and private ports. Use it as a class fixture: the cluster starts once for the class and
/// <c>local-cluster.sh down</c> stops every daemon it started on dispose.
/// </summary>
public sealed class SlurmClusterFixture : IAsyncLifetime
{
    private string? _state;

    /// <summary>The cluster's slurm.conf; clients find the cluster through <c>SLURM_CONF</c>.</summary>
    public string ConfigFile => Path.Combine(_state ?? throw new InvalidOperationException("The Slurm fixture is not initialized."), "slurm.conf");

    /// <summary>The folder holding the cluster's configuration, state and daemon logs.</summary>
    public string StateDirectory => _state ?? throw new InvalidOperationException("The Slurm fixture is not initialized.");

    /// <summary>Starts the cluster (up to 10 minutes, most of it installing packages on a fresh machine).</summary>
    public async Task InitializeAsync()
    {
        _state = Path.Combine(Path.GetTempPath(), $"videodata-slurm-test-{Environment.ProcessId}");
        var port = FreePortPair();
        var result = await RunScriptAsync("up", port, TimeSpan.FromMinutes(10)).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"infra/slurm/local-cluster.sh up failed with exit code {result.ExitCode}:\n{result.Output}\n{DaemonLogs()}");
        }
    }

    /// <summary>Stops slurmd, slurmctld and the munged the script started, and removes the state folder.</summary>
    public async Task DisposeAsync()
    {
        if (_state is not null)
        {
            var result = await RunScriptAsync("down", 0, TimeSpan.FromMinutes(1)).ConfigureAwait(false);
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"infra/slurm/local-cluster.sh down failed with exit code {result.ExitCode}:\n{result.Output}");
            }
        }
    }

    /// <summary>Runs a Slurm client command (sbatch, squeue, scontrol, srun...) against this cluster.</summary>
    /// <param name="program">The client program.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="workingDirectory">Where it runs (for sbatch: the job's submit folder).</param>
    /// <param name="environment">Extra environment variables for the command (and so, for sbatch and srun, for the job).</param>
    /// <param name="timeout">How long it may take (1 minute by default).</param>
    public async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string program, IEnumerable<string> arguments, string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // A job inherits the submitter's environment: keep the host's scheduler and cloud settings out of it.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("SLURM_", StringComparison.Ordinal) || k.StartsWith("AWS_", StringComparison.Ordinal) || k.StartsWith("VIDEODATA_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["SLURM_CONF"] = ConfigFile;
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', start.ArgumentList)} did not finish within {timeout ?? TimeSpan.FromMinutes(1)}.\n{DaemonLogs()}");
        }

        return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>Like <see cref="RunAsync"/>, failing with the command's output when it exits non-zero; returns stdout.</summary>
    public async Task<string> CheckAsync(string program, params string[] arguments)
    {
        var (code, stdout, stderr) = await RunAsync(program, arguments).ConfigureAwait(false);
        if (code != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {code}:\n{stdout}\n{stderr}");
        }

        return stdout;
    }

    /// <summary>The last part of slurmctld's and slurmd's logs, for failure messages.</summary>
    public string DaemonLogs()
    {
        var text = new System.Text.StringBuilder();
        foreach (var name in new[] { "slurmctld.log", "slurmd.log" })
        {
            var path = Path.Combine(_state ?? string.Empty, "log", name);
            if (File.Exists(path))
            {
                var lines = File.ReadAllLines(path);
                text.AppendLine(CultureInfo.InvariantCulture, $"--- {name} (last 30 lines)").AppendJoin('\n', lines.Skip(Math.Max(0, lines.Length - 30))).AppendLine();
            }
        }

        return text.ToString();
    }

    private async Task<(int ExitCode, string Output)> RunScriptAsync(string verb, int port, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(RepoPaths.Root, "infra", "slurm", "local-cluster.sh"), verb, _state! })
        {
            start.ArgumentList.Add(argument);
        }

        if (port > 0)
        {
            start.Environment["VIDEODATA_SLURMCTLD_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}\n{await stdout.ConfigureAwait(false)}{await stderr.ConfigureAwait(false)}");
        }

        return (process.ExitCode, await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false));
    }

    /// <summary>A port P on 127.0.0.1 with P+1 also free (slurmctld and slurmd), as far as a bind-and-release can tell.</summary>
    private static int FreePortPair()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var first = new TcpListener(IPAddress.Loopback, 0);
            first.Start();
            var port = ((IPEndPoint)first.LocalEndpoint).Port;
            if (port >= IPEndPoint.MaxPort)
            {
                continue;
            }

            try
            {
                using var second = new TcpListener(IPAddress.Loopback, port + 1);
                second.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another pair.
            }
        }

        throw new InvalidOperationException("Found no two consecutive free loopback ports for slurmctld and slurmd.");
    }
}
