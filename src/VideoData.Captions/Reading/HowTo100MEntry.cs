namespace VideoData.Captions.Reading;

/// <summary>
/// One video of a HowTo100M caption file: its cues, or, when the entry is damaged, the reason.
/// </summary>
/// <param name="VideoId">The video id (the entry's key); for damage before any key could be read, a placeholder naming the byte offset.</param>
/// <param name="Cues">The cues in file order; empty for a damaged entry.</param>
/// <param name="UnpairedElements">
/// Elements beyond the shortest of <c>start</c>, <c>end</c> and <c>text</c>: the reference pairs
/// them with <c>zip</c> and so ignores them; they are counted here so nothing is lost silently.
/// </param>
/// <param name="Damage">Why the entry could not be read (with the byte offset of the entry), or <see langword="null"/>.</param>
public sealed record HowTo100MEntry(string VideoId, IReadOnlyList<CaptionCue> Cues, int UnpairedElements, string? Damage)
{
    /// <summary>True when the entry could not be read; <see cref="Damage"/> says why.</summary>
    public bool IsDamaged => Damage is not null;
}
