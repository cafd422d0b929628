namespace VideoData.Captions.Cleaning;

/// <summary>
/// What cleanup did to the cues of one or more videos. Every cue read is accounted for:
/// <c>Cues = Dropped* + Kept</c>, and dedup turns the kept cues into <see cref="Segments"/>.
/// </summary>
public sealed record CleanupCounts
{
    /// <summary>Cues read.</summary>
    public long Cues { get; init; }

    /// <summary>Cues whose text was not a string (HowTo100M JSON), dropped as the reference does.</summary>
    public long DroppedNonString { get; init; }

    /// <summary>Cues whose text was empty or whitespace after normalization, dropped as the reference does.</summary>
    public long DroppedEmpty { get; init; }

    /// <summary>Cues left empty by non-speech marker removal.</summary>
    public long DroppedMarkerOnly { get; init; }

    /// <summary>Cues with a NaN or infinite time.</summary>
    public long DroppedNonFiniteTime { get; init; }

    /// <summary>Cues that end before time 0.</summary>
    public long DroppedNegativeTime { get; init; }

    /// <summary>Cues kept after the drops above (the input of dedup).</summary>
    public long Kept { get; init; }

    /// <summary>Kept cues with a negative start, repaired by starting them at 0.</summary>
    public long RepairedNegativeStart { get; init; }

    /// <summary>Kept cues ending before they start, repaired by setting the end to the start.</summary>
    public long RepairedEndBeforeStart { get; init; }

    /// <summary>Kept cues that started before an earlier cue; repaired by a stable sort on start time.</summary>
    public long RepairedOutOfOrder { get; init; }

    /// <summary>Kept cues whose text was longer than <see cref="CaptionCleanerOptions.MaxCueCharacters"/>, cut to that length.</summary>
    public long TruncatedLongText { get; init; }

    /// <summary>Segments after dedup.</summary>
    public long Segments { get; init; }

    /// <summary>Drop counts by reason, for summaries (reasons with a zero count are omitted).</summary>
    public IReadOnlyDictionary<string, long> DroppedByReason => new Dictionary<string, long>
    {
        ["non-string-text"] = DroppedNonString,
        ["empty-text"] = DroppedEmpty,
        ["marker-only"] = DroppedMarkerOnly,
        ["non-finite-time"] = DroppedNonFiniteTime,
        ["negative-time"] = DroppedNegativeTime,
    }.Where(pair => pair.Value > 0).ToDictionary();

    /// <summary>The sum of two counts.</summary>
    public static CleanupCounts operator +(CleanupCounts left, CleanupCounts right) => new()
    {
        Cues = left.Cues + right.Cues,
        DroppedNonString = left.DroppedNonString + right.DroppedNonString,
        DroppedEmpty = left.DroppedEmpty + right.DroppedEmpty,
        DroppedMarkerOnly = left.DroppedMarkerOnly + right.DroppedMarkerOnly,
        DroppedNonFiniteTime = left.DroppedNonFiniteTime + right.DroppedNonFiniteTime,
        DroppedNegativeTime = left.DroppedNegativeTime + right.DroppedNegativeTime,
        Kept = left.Kept + right.Kept,
        RepairedNegativeStart = left.RepairedNegativeStart + right.RepairedNegativeStart,
        RepairedEndBeforeStart = left.RepairedEndBeforeStart + right.RepairedEndBeforeStart,
        RepairedOutOfOrder = left.RepairedOutOfOrder + right.RepairedOutOfOrder,
        TruncatedLongText = left.TruncatedLongText + right.TruncatedLongText,
        Segments = left.Segments + right.Segments,
    };

    /// <summary>Named alternative to the + operator.</summary>
    public static CleanupCounts Add(CleanupCounts left, CleanupCounts right) => left + right;
}
