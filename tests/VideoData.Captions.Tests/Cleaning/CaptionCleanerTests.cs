using VideoData.Captions.Cleaning;
using VideoData.Captions.Reading;
using VideoData.Captions.Tokenization;

namespace VideoData.Captions.Tests.Cleaning;

public sealed class CaptionCleanerTests
{
    private static readonly CaptionCue[] s_overlapping =
    [
        new(0, 2, "we cut the onion"),
        new(1.5, 4, "the onion into rings"),
    ];

    [Fact]
    public void Clean_SameSeedAndVideo_SameOutput_AndBothCoinSidesOccurAcrossVideos()
    {
        var cleaner = new CaptionCleaner(new CaptionCleanerOptions { Seed = 7 });
        var heads = new[] { "we cut the onion", "into rings" };
        var tails = new[] { "we cut", "the onion into rings" };
        var seen = new HashSet<string>();
        for (var i = 0; i < 64; i++)
        {
            var id = $"video{i}";
            var texts = cleaner.Clean(id, s_overlapping).Segments.Select(segment => segment.Text).ToArray();
            Assert.True(texts.SequenceEqual(heads) || texts.SequenceEqual(tails), string.Join(" | ", texts));
            Assert.Equal(texts, cleaner.Clean(id, s_overlapping).Segments.Select(segment => segment.Text));
            seen.Add(texts[0]);
        }

        Assert.Equal(2, seen.Count);
        var otherSeed = new CaptionCleaner(new CaptionCleanerOptions { Seed = 8 });
        Assert.Contains(Enumerable.Range(0, 64), i =>
            otherSeed.Clean($"video{i}", s_overlapping).Segments[0].Text != cleaner.Clean($"video{i}", s_overlapping).Segments[0].Text);
    }

    [Fact]
    public void Clean_DedupNone_KeepsSegmentsAsRead()
    {
        var cleaned = new CaptionCleaner(new CaptionCleanerOptions { Dedup = DedupMode.None }).Clean("v", s_overlapping);
        Assert.Equal(["we cut the onion", "the onion into rings"], cleaned.Segments.Select(segment => segment.Text));
    }

    [Fact]
    public void Clean_DamagedTimesAndTexts_RepairsOrDropsWithCountedReasons()
    {
        CaptionCue[] cues =
        [
            new(double.NaN, 1, "nan start"),
            new(-3, -1, "ends before zero"),
            new(0, 1, null),
            new(0, 1, "  \n "),
            new(-0.5, 2, "negative start"),
            new(10, 8, "ends before start"),
            new(5, 6, "out of order"),
            new(12, 13, "[Music]"),
        ];
        var cleaned = new CaptionCleaner(new CaptionCleanerOptions { RemoveNonSpeechMarkers = true, Dedup = DedupMode.None }).Clean("v", cues);
        Assert.Equal(
            [(0.0, 2.0, "negative start"), (5.0, 6.0, "out of order"), (10.0, 10.0, "ends before start")],
            cleaned.Segments.Select(segment => (segment.Start, segment.End, segment.Text)));
        var counts = cleaned.Counts;
        Assert.Equal(
            (8L, 1L, 1L, 1L, 1L, 1L, 3L, 1L, 1L, 1L, 3L),
            (counts.Cues, counts.DroppedNonFiniteTime, counts.DroppedNegativeTime, counts.DroppedNonString, counts.DroppedEmpty, counts.DroppedMarkerOnly,
             counts.Kept, counts.RepairedNegativeStart, counts.RepairedEndBeforeStart, counts.RepairedOutOfOrder, counts.Segments));
        Assert.Equal(counts.Cues, counts.DroppedByReason.Values.Sum() + counts.Kept);
    }

    [Fact]
    public void Clean_TextLongerThanTheCap_CutToTheCapTrimmedAndCounted()
    {
        CaptionCue[] cues =
        [
            new(0, 1, new string('x', 30) + "  " + new string('y', 30)),
            new(2, 3, new string('z', 31) + "\uD83D\uDE00 tail"),
            new(4, 5, "short"),
        ];
        var cleaned = new CaptionCleaner(new CaptionCleanerOptions { MaxCueCharacters = 32, Dedup = DedupMode.None }).Clean("v", cues);
        // The first is cut at 32 and trimmed; the second would end inside the surrogate pair, so it keeps 31.
        Assert.Equal([new string('x', 30), new string('z', 31), "short"], cleaned.Segments.Select(segment => segment.Text));
        Assert.Equal((3L, 3L, 2L), (cleaned.Counts.Cues, cleaned.Counts.Kept, cleaned.Counts.TruncatedLongText));
        Assert.Equal(2L, (cleaned.Counts + cleaned.Counts).TruncatedLongText / 2);

        var uncapped = new CaptionCleaner(new CaptionCleanerOptions { MaxCueCharacters = int.MaxValue, Dedup = DedupMode.None }).Clean("v", cues);
        Assert.Equal(0, uncapped.Counts.TruncatedLongText);
        Assert.Equal(cues[0].Text, uncapped.Segments[0].Text);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(-5)]
    public void Create_MaxCueCharactersBelowTwo_ThrowsNamingTheOption(int value)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new CaptionCleaner(new CaptionCleanerOptions { MaxCueCharacters = value }));
        Assert.Contains("MaxCueCharacters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Clean_DedupWords_CutsNoWordWhereTheReferenceDoes()
    {
        CaptionCue[] cues = [new(0, 2, "add a pinch of salt"), new(1, 3, "then heat the pan")];
        var reference = new CaptionCleaner().Clean("v", cues).Segments.Select(segment => segment.Text).ToArray();
        Assert.True(reference.SequenceEqual(["add a pinch of salt", "hen heat the pan"]) || reference.SequenceEqual(["add a pinch of sal", "then heat the pan"]), string.Join(" | ", reference));
        var words = new CaptionCleaner(new CaptionCleanerOptions { Dedup = DedupMode.Words }).Clean("v", cues);
        Assert.Equal(["add a pinch of salt", "then heat the pan"], words.Segments.Select(segment => segment.Text));
        Assert.Equal(DedupMode.Words, CaptionCleanerOptions.ParseDedup("words"));
        Assert.Equal("words", CaptionCleanerOptions.DedupName(DedupMode.Words));
        Assert.Contains("'word'", Assert.Throws<ArgumentException>(() => CaptionCleanerOptions.ParseDedup("word")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Clean_Normalization_DecodesEntitiesComposesAndCollapsesWhitespace()
    {
        CaptionCue[] cues = [new(0, 1, "  caf\u0065\u0301  &amp;\tcr&egrave;me\r\nbr&#251;l&eacute;e ")];
        Assert.Equal("café & crème brûlée", new CaptionCleaner(new CaptionCleanerOptions { Normalize = true }).Clean("v", cues).Segments[0].Text);
        // The default is the reference's handling: newlines become spaces, the ends are trimmed, nothing else.
        Assert.Equal("caf\u0065\u0301  &amp;\tcr&egrave;me\r br&#251;l&eacute;e", new CaptionCleaner().Clean("v", cues).Segments[0].Text);
    }

    [Fact]
    public void Clean_Segments_CarryReferenceTokenIds()
    {
        var segment = new CaptionCleaner().Clean("v", [new CaptionCue(0, 1, "I like strawberries")]).Segments.Single();
        Assert.Equal([1045, 2066, 13137, 20968], segment.TokenIds);
        Assert.Equal(BertWordPieceTokenizer.Default.EncodeSegment(new string('x', 200)), new CaptionCleaner().Clean("v", [new CaptionCue(0, 1, new string('x', 200))]).Segments[0].TokenIds);
    }

    [Fact]
    public void Options_InvalidDedup_ThrowsNamingTheOption()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new CaptionCleaner(new CaptionCleanerOptions { Dedup = (DedupMode)9 }));
        Assert.Contains("CaptionCleanerOptions.Dedup", error.Message, StringComparison.Ordinal);
    }
}
