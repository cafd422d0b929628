namespace VideoData.Captions.Cleaning;

/// <summary>How overlapping caption text is collapsed.</summary>
public enum DedupMode
{
    /// <summary>The reference (VideoCLIP/MMPT) algorithm of DESIGN §3, its coin flip seeded by (seed, video id).</summary>
    Reference,

    /// <summary>Keep segments as read (after validation and normalization).</summary>
    None,
}

/// <summary>Options of <see cref="CaptionCleaner"/>; validated when the cleaner is created.</summary>
public sealed class CaptionCleanerOptions
{
    /// <summary>Dedup algorithm; default <see cref="DedupMode.Reference"/>.</summary>
    public DedupMode Dedup { get; set; } = DedupMode.Reference;

    /// <summary>Seed of the reference dedup's coin flips; with the video id it fixes every flip. Default 0.</summary>
    public ulong Seed { get; set; }

    /// <summary>
    /// Decode HTML entities, apply Unicode NFC and collapse whitespace runs to one space. These change
    /// no BERT token except where the text held entities. Default false: the reference's handling
    /// exactly (newlines become spaces and the ends are trimmed), as DESIGN §3 requires of defaults.
    /// </summary>
    public bool Normalize { get; set; }

    /// <summary>Remove non-speech markers: bracketed tags such as <c>[Music]</c> or <c>[Applause]</c> and the speaker-change mark <c>&gt;&gt;</c>. Default false (the reference keeps them).</summary>
    public bool RemoveNonSpeechMarkers { get; set; }

    internal void Validate()
    {
        if (!Enum.IsDefined(Dedup))
        {
            throw new ArgumentOutOfRangeException(nameof(Dedup), Dedup, $"{nameof(CaptionCleanerOptions)}.{nameof(Dedup)} must be Reference or None.");
        }
    }
}
