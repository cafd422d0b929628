using System.Runtime.CompilerServices;
using VideoData.Captions.Reading;
using VideoData.Captions.Tokenization;
using VideoData.Shards;

namespace VideoData.Captions.Cleaning;

/// <summary>The cleaned captions of one video and what cleanup did to get them.</summary>
/// <param name="VideoId">The video.</param>
/// <param name="Segments">Segments in time order of the dedup output.</param>
/// <param name="Counts">Accounting of every cue read.</param>
public sealed record CleanedCaptions(string VideoId, IReadOnlyList<CaptionSegment> Segments, CleanupCounts Counts);

/// <summary>
/// Cleans one video's cues into tokenized segments: validate, normalize, dedup, tokenize.
/// </summary>
/// <remarks>
/// Per cue, in this order: text that is not a string is dropped; a cue with a NaN or infinite time
/// is dropped; a cue ending before 0 is dropped; the text is normalized (or, with
/// <see cref="CaptionCleanerOptions.Normalize"/> off, newlines become spaces and the ends are
/// trimmed, as in the reference), markers are removed when asked, and a cue left empty is dropped;
/// a text longer than <see cref="CaptionCleanerOptions.MaxCueCharacters"/> is cut to it (counted).
/// Then repairs: a negative start becomes 0; an end before the start becomes the start; if any
/// start is earlier than a start before it, the cues are stably sorted by start. Then dedup (see
/// <see cref="DedupMode"/>) and tokenization of each segment (<see cref="BertWordPieceTokenizer.EncodeSegment"/>).
/// Instances are immutable and thread-safe.
/// </remarks>
public sealed class CaptionCleaner
{
    private readonly DedupMode _dedup;
    private readonly ulong _seed;
    private readonly bool _normalize;
    private readonly bool _removeMarkers;
    private readonly int _maxCueCharacters;
    private readonly BertWordPieceTokenizer _tokenizer;

    /// <summary>Creates a cleaner; options are validated and copied here.</summary>
    /// <param name="options">Options; defaults when null.</param>
    /// <param name="tokenizer">Tokenizer; <see cref="BertWordPieceTokenizer.Default"/> when null.</param>
    public CaptionCleaner(CaptionCleanerOptions? options = null, BertWordPieceTokenizer? tokenizer = null)
    {
        options ??= new CaptionCleanerOptions();
        options.Validate();
        _dedup = options.Dedup;
        _seed = options.Seed;
        _normalize = options.Normalize;
        _removeMarkers = options.RemoveNonSpeechMarkers;
        _maxCueCharacters = options.MaxCueCharacters;
        _tokenizer = tokenizer ?? BertWordPieceTokenizer.Default;
    }

    /// <summary>The tokenizer this cleaner uses.</summary>
    internal BertWordPieceTokenizer Tokenizer => _tokenizer;

    /// <summary>Cleans the cues of <paramref name="videoId"/>; the id also seeds the dedup coin.</summary>
    public CleanedCaptions Clean(string videoId, IReadOnlyList<CaptionCue> cues)
    {
        ArgumentNullException.ThrowIfNull(videoId);
        ArgumentNullException.ThrowIfNull(cues);
        var counts = CleanUntokenized(videoId, cues, out var deduped);
        var segments = new CaptionSegment[deduped.Count];
        for (var i = 0; i < segments.Length; i++)
        {
            var item = deduped[i];
            segments[i] = new CaptionSegment(item.Start, item.End, item.Text, _tokenizer.EncodeSegment(item.Text));
        }

        return new CleanedCaptions(videoId, segments, counts);
    }

    /// <summary>Everything <see cref="Clean"/> does but tokenization: the segments (to tokenize with <see cref="Tokenizer"/>) and the accounting.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal CleanupCounts CleanUntokenized(string videoId, IReadOnlyList<CaptionCue> cues, out List<TimedText> segments)
    {
        long nonString = 0, empty = 0, markerOnly = 0, nonFinite = 0, negative = 0, negativeStart = 0, endBeforeStart = 0, outOfOrder = 0, truncated = 0;
        var kept = new List<TimedText>(cues.Count);
        var latestStart = double.NegativeInfinity;
        foreach (var cue in cues)
        {
            if (cue.Text is null)
            {
                nonString++;
                continue;
            }

            if (!double.IsFinite(cue.Start) || !double.IsFinite(cue.End))
            {
                nonFinite++;
                continue;
            }

            if (cue.End < 0)
            {
                negative++;
                continue;
            }

            var text = _normalize ? TextNormalizer.Normalize(cue.Text) : TextNormalizer.Reference(cue.Text);
            if (text.Length == 0)
            {
                empty++;
                continue;
            }

            if (_removeMarkers)
            {
                text = TextNormalizer.RemoveMarkers(text);
                if (text.Length == 0)
                {
                    markerOnly++;
                    continue;
                }
            }

            if (text.Length > _maxCueCharacters)
            {
                truncated++;
                text = Truncate(text, _maxCueCharacters);
            }

            var start = cue.Start;
            if (start < 0)
            {
                negativeStart++;
                start = 0;
            }

            var end = cue.End;
            if (end < start)
            {
                endBeforeStart++;
                end = start;
            }

            if (start < latestStart)
            {
                outOfOrder++;
            }

            latestStart = Math.Max(latestStart, start);
            kept.Add(new TimedText(start, end, text));
        }

        if (outOfOrder > 0)
        {
            kept = [.. kept.OrderBy(cue => cue.Start)];
        }

        List<TimedText> deduped;
        if (_dedup == DedupMode.None)
        {
            deduped = kept;
        }
        else
        {
            var coin = new DedupCoin(_seed, videoId);
            deduped = ReferenceDedup.Apply(kept, ref coin, wholeWords: _dedup == DedupMode.Words);
        }

        segments = deduped;
        return new CleanupCounts
        {
            Cues = cues.Count,
            DroppedNonString = nonString,
            DroppedEmpty = empty,
            DroppedMarkerOnly = markerOnly,
            DroppedNonFiniteTime = nonFinite,
            DroppedNegativeTime = negative,
            Kept = kept.Count,
            RepairedNegativeStart = negativeStart,
            RepairedEndBeforeStart = endBeforeStart,
            RepairedOutOfOrder = outOfOrder,
            TruncatedLongText = truncated,
            Segments = deduped.Count,
        };
    }

    /// <summary>The first <paramref name="length"/> code units of <paramref name="text"/> (one fewer rather than half a surrogate pair), trimmed.</summary>
    private static string Truncate(string text, int length)
    {
        if (char.IsHighSurrogate(text[length - 1]))
        {
            length--;
        }

        return text.AsSpan(0, length).Trim().ToString();
    }
}
