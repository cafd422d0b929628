using VideoData.Core.Failures;
using VideoData.Media.Native;

namespace VideoData.Media;

/// <summary>
/// An FFmpeg call failed on one input. Carries the FFmpeg error code, the call that returned it,
/// and the failure class the ledger records; the message names the input and includes
/// <c>av_strerror</c>'s text.
/// </summary>
public sealed class FfmpegException : VideoDataException
{
    /// <summary>Creates the exception; <paramref name="message"/> should name the input.</summary>
    public FfmpegException(FailureClass failureClass, string message, int errorCode, string operation)
        : base(failureClass, message)
    {
        ErrorCode = errorCode;
        Operation = operation;
    }

    /// <summary>The negative FFmpeg error code (an <c>AVERROR</c> value).</summary>
    public int ErrorCode { get; }

    /// <summary>The FFmpeg function that returned <see cref="ErrorCode"/>, e.g. <c>avformat_open_input</c>.</summary>
    public string Operation { get; }

    /// <summary>Throws when <paramref name="result"/> is a negative FFmpeg error code; returns it otherwise.</summary>
    internal static int Check(int result, FailureClass failureClass, string inputName, string operation)
    {
        if (result < 0)
        {
            throw Create(result, failureClass, inputName, operation);
        }

        return result;
    }

    internal static FfmpegException Create(int result, FailureClass failureClass, string inputName, string operation) =>
        new(failureClass, $"{inputName}: {operation} failed: {Interop.AvUtil.ErrorText(result)} ({failureClass.ToName()})", result, operation);
}
