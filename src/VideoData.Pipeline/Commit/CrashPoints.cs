using System.Runtime.InteropServices;

namespace VideoData.Pipeline.Commit;

/// <summary>
/// Test-only switch for deterministic crash tests: <c>VIDEODATA_CRASH_AT=step</c> (or <c>step:n</c> for its n-th occurrence,
/// 1-based) makes the worker end itself right after that named step of commit or publish. By default it sends itself
/// SIGKILL (no cleanup, like a node failure or the OOM killer); <c>VIDEODATA_CRASH_SIGNAL=TERM</c> or <c>INT</c> sends that
/// signal instead and carries on (after a moment for the handler to run), so the run stops the way a scheduler or Ctrl+C
/// stops it, in the middle of that step's publish; <c>STOP</c> pauses the worker there (SIGSTOP) until someone sends SIGCONT. Unset (always, outside tests), every call is a no-op.
/// </summary>
internal static class CrashPoints
{
    /// <summary>A segment's data file is written; its commit record is not.</summary>
    public const string SegmentDataWritten = "segment-data-written";

    /// <summary>A segment's commit record is written: its videos are committed.</summary>
    public const string SegmentCommitted = "segment-committed";

    /// <summary>The shard's new data file is written; the ledger does not name it yet.</summary>
    public const string DataFileWritten = "data-file-written";

    /// <summary>The new ledger is written: the publish is committed.</summary>
    public const string LedgerCommitted = "ledger-committed";

    /// <summary>The stats are written.</summary>
    public const string StatsWritten = "stats-written";

    /// <summary>The superseded data files are deleted.</summary>
    public const string SupersededDeleted = "superseded-deleted";

    /// <summary>The published segments are deleted (the last step).</summary>
    public const string WorkDeleted = "work-deleted";

    /// <summary>Every step, in the order a publish passes them.</summary>
    public static readonly IReadOnlyList<string> All = [SegmentDataWritten, SegmentCommitted, DataFileWritten, LedgerCommitted, StatsWritten, SupersededDeleted, WorkDeleted];

    private static readonly (string Step, int Occurrence)? s_target = Parse(Environment.GetEnvironmentVariable("VIDEODATA_CRASH_AT"));
    private static int s_seen;

    /// <summary>Called right after <paramref name="step"/>; ends or signals the process when the switch names it.</summary>
    public static void Reached(string step)
    {
        if (s_target is not { } target || target.Step != step || Interlocked.Increment(ref s_seen) != target.Occurrence)
        {
            return;
        }

        var signal = Environment.GetEnvironmentVariable("VIDEODATA_CRASH_SIGNAL") switch
        {
            "TERM" => 15,
            "INT" => 2,
            "STOP" => 19,
            _ => 9,
        };
        Console.Error.WriteLine($"videodata: VIDEODATA_CRASH_AT={step}: sending signal {signal} to myself");
        Console.Error.Flush();
        _ = Kill(Environment.ProcessId, signal);
        // SIGKILL ends the process before this returns; after SIGTERM or SIGINT the runtime's handler needs a moment to request
        // the stop, which the next step then observes, as it would for a signal that came from outside at this instant.
        Thread.Sleep(signal == 9 ? Timeout.Infinite : 3000);
    }

    private static (string, int)? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var parts = value.Split(':');
        if (!All.Contains(parts[0]) || (parts.Length > 1 && !int.TryParse(parts[1], out _)) || parts.Length > 2)
        {
            throw new ArgumentException($"VIDEODATA_CRASH_AT='{value}' is not a crash point: expected one of {string.Join(", ", All)}, optionally followed by ':n'.");
        }

        return (parts[0], parts.Length > 1 ? int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : 1);
    }

#pragma warning disable SYSLIB1054 // two ints, nothing to marshal; LibraryImport would need unsafe code in this project
    [DllImport("libc.so.6", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
#pragma warning restore SYSLIB1054
}
