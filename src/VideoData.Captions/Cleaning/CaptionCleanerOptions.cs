namespace VideoData.Captions.Cleaning;

/// <summary>How overlapping caption text is collapsed.</summary>
public enum DedupMode
{
    /// <summary>The reference (VideoCLIP/MMPT) algorithm of DESIGN §3, its coin flip seeded by (seed, video id).</summary>
    Reference,

    /// <summary>
    /// The reference algorithm with its overlaps restricted to whole words: an overlap (and the "previous text ends
    /// with the current one" merge) is taken only where it is one or more whole words on both sides (bounded by the
    /// text's ends or white space), so no segment is cut inside a word; the shortest such overlap is used and the
    /// same seeded coin decides. Not the reference: opt in with <c>captions.dedup: words</c>.
    /// </summary>
    Words,

    /// <summary>Keep segments as read (after validation and normalization).</summary>
    None,
}

/// <summary>Options of <see cref="CaptionCleaner"/>; validated when the cleaner is created.</summary>
public sealed class CaptionCleanerOptions
{
    /// <summary>The name of a dedup mode in pipeline definitions and on the command line: <c>reference</c>, <c>words</c> or <c>none</c>.</summary>
    public static string DedupName(DedupMode mode) => mode switch
    {
        DedupMode.Reference => "reference",
        DedupMode.Words => "words",
        DedupMode.None => "none",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown dedup mode"),
    };

    /// <summary>
    /// The dedup mode named <paramref name="name"/> (<c>reference</c>, <c>words</c> or <c>none</c>, as in pipeline
    /// definitions); throws <see cref="ArgumentException"/> naming the value otherwise.
    /// </summary>
    public static DedupMode ParseDedup(string name) => name switch
    {
        "reference" => DedupMode.Reference,
        "words" => DedupMode.Words,
        "none" => DedupMode.None,
        _ => throw new ArgumentException($"dedup mode '{name}' is not one of reference, words, none.", nameof(name)),
    };

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

    /// <summary>
    /// Longest cue text kept, in UTF-16 code units after normalization; a longer text is cut to this length (never
    /// inside a surrogate pair, then trimmed) and counted in <see cref="CleanupCounts.TruncatedLongText"/>. Bounds the
    /// memory of every segment (dedup merges never make a segment longer than its longest cue). Default
    /// <see cref="DefaultMaxCueCharacters"/>, far above real captions (the tokenizer reads only a segment's first 96
    /// characters); <see cref="int.MaxValue"/> turns the cap off.
    /// </summary>
    public int MaxCueCharacters { get; set; } = DefaultMaxCueCharacters;

    /// <summary>Default of <see cref="MaxCueCharacters"/>: 10,000.</summary>
    public const int DefaultMaxCueCharacters = 10_000;

    /// <summary>Remove non-speech markers: bracketed tags such as <c>[Music]</c> or <c>[Applause]</c> and the speaker-change mark <c>&gt;&gt;</c>. Default false (the reference keeps them).</summary>
    public bool RemoveNonSpeechMarkers { get; set; }

    internal void Validate()
    {
        if (!Enum.IsDefined(Dedup))
        {
            throw new ArgumentOutOfRangeException(nameof(Dedup), Dedup, $"{nameof(CaptionCleanerOptions)}.{nameof(Dedup)} must be Reference, Words or None.");
        }

        // Two code units always keep the first character of a trimmed text, even when it is a surrogate pair.
        if (MaxCueCharacters < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxCueCharacters), MaxCueCharacters, $"{nameof(CaptionCleanerOptions)}.{nameof(MaxCueCharacters)} must be at least 2.");
        }
    }
}
