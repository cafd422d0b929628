using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace VideoData.Training.IO;

/// <summary>
/// Test-only crash injection: when the environment variable <see cref="Variable"/> is <c>NAME</c> or <c>NAME#N</c>,
/// the process kills itself with SIGKILL the first (or N-th) time it reaches the point <c>NAME</c> — no
/// <c>finally</c> blocks, no flushes, exactly like a crash at that instant. Unset (always, outside tests), a point
/// costs one dictionary-free comparison. Points are named <c>area.step</c>, e.g. <c>checkpoint.published</c>.
/// </summary>
internal static class KillPoints
{
    /// <summary>The environment variable naming the point to die at.</summary>
    public const string Variable = "VIDEODATA_TEST_KILL_AT";

    private static readonly (string Name, int Occurrence)? Target = Parse(Environment.GetEnvironmentVariable(Variable));
    private static readonly ConcurrentDictionary<string, int> Reached = new(StringComparer.Ordinal);

    /// <summary>Marks that the code has just completed step <paramref name="name"/>; dies here if that is the chosen point.</summary>
    public static void Reach(string name)
    {
        if (Target is not { } target || !string.Equals(target.Name, name, StringComparison.Ordinal))
        {
            return;
        }

        if (Reached.AddOrUpdate(name, 1, (_, n) => n + 1) == target.Occurrence)
        {
            using var self = Process.GetCurrentProcess();
            self.Kill();
            // SIGKILL is delivered asynchronously; nothing after the chosen point may run.
            Thread.Sleep(Timeout.Infinite);
        }
    }

    private static (string, int)? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var hash = value.IndexOf('#', StringComparison.Ordinal);
        if (hash < 0)
        {
            return (value.Trim(), 1);
        }

        if (!int.TryParse(value.AsSpan(hash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var occurrence) || occurrence < 1)
        {
            throw new ArgumentException($"{Variable} = '{value}': the part after '#' must be a positive occurrence count.");
        }

        return (value[..hash].Trim(), occurrence);
    }
}
