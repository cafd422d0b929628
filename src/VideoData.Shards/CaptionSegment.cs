namespace VideoData.Captions.Cleaning;

/// <summary>A cleaned caption segment, as stored in caption tables and feature shards.</summary>
/// <param name="Start">Start in seconds from the start of the video, ≥ 0.</param>
/// <param name="End">End in seconds, ≥ <paramref name="Start"/>.</param>
/// <param name="Text">The cleaned text (never empty).</param>
/// <param name="TokenIds">bert-base-uncased ids of the first 96 characters, at most 32, no special tokens.</param>
public sealed record CaptionSegment(double Start, double End, string Text, int[] TokenIds);
