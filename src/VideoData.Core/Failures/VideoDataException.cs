namespace VideoData.Core.Failures;

/// <summary>
/// A domain failure that concerns one input (a video, a caption file, an object) and carries the
/// <see cref="FailureClass"/> the ledger records. Stages catch this, record it and move on; any
/// other exception is a bug or an environment problem and stops the worker.
/// </summary>
public class VideoDataException : UserFacingException
{
    /// <summary>Creates a failure of the given class; <paramref name="message"/> should name the input.</summary>
    public VideoDataException(FailureClass failureClass, string message, Exception? innerException = null)
        : base(message, null, innerException)
    {
        FailureClass = failureClass;
    }

    /// <inheritdoc />
    public override string FailureClassName => FailureClass.ToName();

    /// <summary>What kind of failure this is, for the ledger and the exit message.</summary>
    public FailureClass FailureClass { get; }
}
