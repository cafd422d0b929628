namespace VideoData.Core.Failures;

/// <summary>
/// A failure the user can act on (a bad input or setting, an unreachable store, a missing native library), as opposed
/// to a bug. It carries what it is about (<see cref="Input"/>, when the message does not already name it) and the name of
/// its failure class, so a command reports it in one line (<c>videodata COMMAND: INPUT: message</c>) with no stack
/// trace. Library code throws a concrete subclass: <see cref="VideoDataException"/> for one video's failure (the
/// ledger's classes), or the configuration, manifest and native-dependency failures.
/// </summary>
public abstract class UserFacingException : Exception
{
    /// <summary>Creates the failure.</summary>
    /// <param name="message">What went wrong and, where it helps, what to do; should name the input.</param>
    /// <param name="input">The file, URI or field the failure is about, or null.</param>
    /// <param name="innerException">The cause, or null.</param>
    protected UserFacingException(string message, string? input = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Input = input;
    }

    /// <summary>The file, URI or field the failure is about, or null when the message names it.</summary>
    public string? Input { get; }

    /// <summary>The failure's class as reports and ledgers name it (<c>decode</c>, <c>config</c>, <c>environment</c>, …).</summary>
    public abstract string FailureClassName { get; }
}
