namespace VideoData.Core.Failures;

/// <summary>
/// The class of a per-video failure, as the ledger records it (DESIGN §7). The string form
/// (<see cref="FailureClassNames.ToName"/>) is the one written to ledgers and printed by commands.
/// </summary>
public enum FailureClass
{
    /// <summary>The object could not be read from storage (after retries for transient faults).</summary>
    Fetch,

    /// <summary>The container or stream could not be opened or is out of the accepted bounds.</summary>
    Probe,

    /// <summary>The video stream could not be decoded.</summary>
    Decode,

    /// <summary>A stage made no progress for longer than its watchdog allows.</summary>
    Timeout,

    /// <summary>The feature encoder failed on the decoded frames.</summary>
    Encode,

    /// <summary>The captions of the video could not be read or cleaned.</summary>
    Captions,
}

/// <summary>Conversions between <see cref="FailureClass"/> and its ledger spelling.</summary>
public static class FailureClassNames
{
    /// <summary>The lower-case name written to ledgers, e.g. <c>decode</c>.</summary>
    public static string ToName(this FailureClass failureClass) => failureClass switch
    {
        FailureClass.Fetch => "fetch",
        FailureClass.Probe => "probe",
        FailureClass.Decode => "decode",
        FailureClass.Timeout => "timeout",
        FailureClass.Encode => "encode",
        FailureClass.Captions => "captions",
        _ => throw new ArgumentOutOfRangeException(nameof(failureClass), failureClass, "Unknown failure class."),
    };

    /// <summary>Parses a ledger spelling; throws <see cref="FormatException"/> naming the bad value.</summary>
    public static FailureClass Parse(string name) => name switch
    {
        "fetch" => FailureClass.Fetch,
        "probe" => FailureClass.Probe,
        "decode" => FailureClass.Decode,
        "timeout" => FailureClass.Timeout,
        "encode" => FailureClass.Encode,
        "captions" => FailureClass.Captions,
        _ => throw new FormatException($"Unknown failure class '{name}'; expected fetch, probe, decode, timeout, encode or captions."),
    };
}
