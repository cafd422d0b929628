using System.Globalization;

namespace VideoData.Pipeline.Run;

/// <summary>
/// Who this worker process is, for stats and leases: <see cref="Id"/> is unique per process (host, pid and a random
/// suffix, so a restarted worker with a reused pid is a different worker), stable for the process's life.
/// </summary>
public static class WorkerIdentity
{
    /// <summary>This machine's host name.</summary>
    public static string Host { get; } = Environment.MachineName;

    /// <summary>This process's id.</summary>
    public static int Pid { get; } = Environment.ProcessId;

    /// <summary>This worker process's unique id, <c>HOST-PID-xxxxxx</c>.</summary>
    public static string Id { get; } = string.Create(CultureInfo.InvariantCulture, $"{Host}-{Pid}-{Guid.NewGuid().ToString("N")[..6]}");
}
