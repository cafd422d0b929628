using VideoData.Captions.Cleaning;
using VideoData.Captions.Tokenization;

namespace VideoData.Captions.Import;

/// <summary>Options of <see cref="CaptionImporter"/>; validated when the import starts, naming the bad option.</summary>
public sealed class CaptionImportOptions
{
    /// <summary>Default number of videos per shard (the reference's feature shards hold ~4096 videos).</summary>
    public const int DefaultShardSize = 4096;

    /// <summary>The HowTo100M <c>raw_caption.json</c> to import. Required.</summary>
    public string InputPath { get; set; } = string.Empty;

    /// <summary>Folder for the caption tables; created if missing, must not already hold shards. Required.</summary>
    public string OutputDirectory { get; set; } = string.Empty;

    /// <summary>Videos per shard, 1 to 1,000,000; default <see cref="DefaultShardSize"/>.</summary>
    public int ShardSize { get; set; } = DefaultShardSize;

    /// <summary>Cleanup options (dedup mode, seed, normalization, marker removal).</summary>
    public CaptionCleanerOptions Cleaner { get; set; } = new();

    /// <summary>Tokenizer; the embedded bert-base-uncased one when null.</summary>
    public BertWordPieceTokenizer? Tokenizer { get; set; }

    /// <summary>Threads cleaning and tokenizing (pass 2) and tables written at once (pass 3), 1 to 64; default: the processor count, at most 4.</summary>
    public int Parallelism { get; set; } = Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>Receives progress every 1,000 entries of passes 1 and 2 and after every table of pass 3, never concurrently; null for none.</summary>
    public IProgress<CaptionImportProgress>? Progress { get; set; }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(InputPath))
        {
            throw new ArgumentException($"{nameof(CaptionImportOptions)}.{nameof(InputPath)} is required.", nameof(InputPath));
        }

        if (string.IsNullOrWhiteSpace(OutputDirectory))
        {
            throw new ArgumentException($"{nameof(CaptionImportOptions)}.{nameof(OutputDirectory)} is required.", nameof(OutputDirectory));
        }

        if (ShardSize is < 1 or > 1_000_000)
        {
            throw new ArgumentOutOfRangeException(nameof(ShardSize), ShardSize, $"{nameof(CaptionImportOptions)}.{nameof(ShardSize)} must be between 1 and 1000000.");
        }

        if (Parallelism is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(Parallelism), Parallelism, $"{nameof(CaptionImportOptions)}.{nameof(Parallelism)} must be between 1 and 64.");
        }

        ArgumentNullException.ThrowIfNull(Cleaner, nameof(Cleaner));
        Cleaner.Validate();
    }
}

/// <summary>Where an import is: the pass (1: collect ids, 2: clean, 3: write tables) and how far.</summary>
/// <param name="Pass">1, 2 or 3.</param>
/// <param name="Done">Entries read (passes 1 and 2) or shards written (pass 3).</param>
public readonly record struct CaptionImportProgress(int Pass, long Done);

/// <summary>A corpus entry that was not imported, and why.</summary>
/// <param name="VideoId">The entry's id (or a placeholder naming the byte offset when the id itself was unreadable).</param>
/// <param name="Reason">What was wrong.</param>
public sealed record DamagedCaptionEntry(string VideoId, string Reason);

/// <summary>The outcome of an import; every entry of the input is accounted for: <c>Entries = Videos + Damaged.Count</c>.</summary>
public sealed record CaptionImportSummary
{
    /// <summary>Entries in the input (damaged ones and superseded duplicates included).</summary>
    public long Entries { get; init; }

    /// <summary>Videos written to the caption tables (one row each, possibly with no segments).</summary>
    public long Videos { get; init; }

    /// <summary>Entries not imported, in file order: damaged entries and earlier duplicates of an id.</summary>
    public IReadOnlyList<DamagedCaptionEntry> Damaged { get; init; } = [];

    /// <summary>Shard files written.</summary>
    public int Shards { get; init; }

    /// <summary>Videos per shard used.</summary>
    public int ShardSize { get; init; }

    /// <summary>start/end/text elements beyond the shortest of the three arrays (ignored, as the reference's <c>zip</c> does).</summary>
    public long UnpairedElements { get; init; }

    /// <summary>Cleanup accounting over all imported videos.</summary>
    public CleanupCounts Counts { get; init; } = new();

    /// <summary>Paths of the shard files written, in shard order.</summary>
    public IReadOnlyList<string> ShardFiles { get; init; } = [];
}
