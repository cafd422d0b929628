namespace VideoData.Core.Failures;

/// <summary>
/// A native library the tool needs (FFmpeg, libtorch) is missing or of the wrong version. The
/// message says what was found, what is needed and how to install it; this is an environment
/// problem, not a per-video failure.
/// </summary>
public sealed class NativeDependencyException : UserFacingException
{
    /// <summary>Creates the exception with a message that explains what to install.</summary>
    public NativeDependencyException(string message, Exception? innerException = null)
        : base(message, null, innerException)
    {
    }

    /// <summary><c>environment</c>: the machine lacks something, not the input.</summary>
    public override string FailureClassName => "environment";
}
