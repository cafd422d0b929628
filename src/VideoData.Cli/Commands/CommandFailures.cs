using VideoData.Core.Failures;

namespace VideoData.Cli.Commands;

/// <summary>
/// The CLI's one error policy. Invariants: a failure the user can act on (<see cref="IsInputFailure"/>: every
/// <see cref="UserFacingException"/>, and the runtime's exceptions for bad arguments, malformed data and I/O) becomes
/// exactly one line on standard error, <c>videodata COMMAND: INPUT: message</c>, and the command's exit code, with no
/// stack trace; anything else is a bug and propagates with its stack trace. Each command's exit code for such failures
/// is part of its documented contract (2 for bad input or settings in most commands, 1 for a run that failed on the way,
/// 3 for a missing native library).
/// </summary>
internal static class CommandFailures
{
    /// <summary>Whether <paramref name="ex"/> is the user's to fix (reported in one line), not a bug.</summary>
    public static bool IsInputFailure(Exception ex) =>
        ex is UserFacingException or IOException or UnauthorizedAccessException or ArgumentException or FormatException or InvalidDataException
            or KeyNotFoundException or NotSupportedException;

    /// <summary>
    /// Writes <c>videodata COMMAND: INPUT: [CLASS: ]message</c> on standard error and returns <paramref name="exitCode"/>.
    /// The input is <paramref name="input"/>, else the failure's own <see cref="UserFacingException.Input"/> when its
    /// message does not already name it; the class is written only when <paramref name="failureClass"/> is given.
    /// </summary>
    public static int Report(string command, string? input, Exception ex, int exitCode, string? failureClass = null)
    {
        ArgumentNullException.ThrowIfNull(ex);
        input ??= ex is UserFacingException { Input: { } own } && !ex.Message.Contains(own, StringComparison.Ordinal) ? own : null;
        var line = $"videodata {command}: "
            + (input is null ? "" : input + ": ")
            + (failureClass is null ? "" : failureClass + ": ")
            + ex.Message;
        Console.Error.WriteLine(line);
        return exitCode;
    }
}
