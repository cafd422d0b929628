namespace VideoData.Shards;

/// <summary>
/// One cleaned caption segment of a video, as the caption cleaner produces it, caption tables and feature shards store
/// it, and training samples it: the one segment type of the code base.
/// </summary>
/// <remarks>
/// Equality compares <see cref="TokenIds"/> element by element (a record would compare the array reference), so a
/// segment read back from a shard equals the one written.
/// </remarks>
/// <param name="Start">Start in seconds from the start of the video (≥ 0 from the cleaner; training only needs it finite).</param>
/// <param name="End">End in seconds, ≥ <paramref name="Start"/> in well-formed data.</param>
/// <param name="Text">The cleaned text; empty where only the ids are kept (training's video records).</param>
/// <param name="TokenIds">bert-base-uncased WordPiece ids, no special tokens (the cleaner tokenizes the first 96 characters, at most 32 ids).</param>
public sealed record CaptionSegment(double Start, double End, string Text, int[] TokenIds)
{
    /// <summary>A segment without its text: what training keeps of a caption (times and ids).</summary>
    /// <param name="start">Start in seconds.</param>
    /// <param name="end">End in seconds.</param>
    /// <param name="tokenIds">WordPiece ids, no special tokens.</param>
    public CaptionSegment(double start, double end, int[] tokenIds)
        : this(start, end, string.Empty, tokenIds)
    {
    }

    /// <inheritdoc />
    public bool Equals(CaptionSegment? other) =>
        other is not null && Start.Equals(other.Start) && End.Equals(other.End) && Text == other.Text && TokenIds.AsSpan().SequenceEqual(other.TokenIds);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Start, End, Text, TokenIds.Length);
}
