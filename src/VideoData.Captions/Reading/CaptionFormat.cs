namespace VideoData.Captions.Reading;

/// <summary>The caption file formats the readers understand.</summary>
public enum CaptionFormat
{
    /// <summary>HowTo100M <c>raw_caption.json</c>: one object mapping video id to <c>{start[], end[], text[]}</c>.</summary>
    HowTo100MCorpus,

    /// <summary>One video's captions in the HowTo100M shape: <c>{"start": [], "end": [], "text": []}</c>.</summary>
    HowTo100MVideo,

    /// <summary>WebVTT, including YouTube's auto-generated captions with rolling lines and inline word timings.</summary>
    WebVtt,

    /// <summary>SubRip (.srt).</summary>
    Srt,
}

/// <summary>The cues of one video as read from a single-video caption file.</summary>
/// <param name="Format">The format the content was read as.</param>
/// <param name="Cues">The cues in file order.</param>
/// <param name="SkippedCues">
/// WebVTT/SRT: cue blocks that could not be read (e.g. a malformed timing line) and were skipped.
/// HowTo100M JSON: elements beyond the shortest of start, end and text (ignored, as the reference's <c>zip</c> does).
/// </param>
public sealed record CaptionTrack(CaptionFormat Format, IReadOnlyList<CaptionCue> Cues, int SkippedCues);
