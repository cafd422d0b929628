using VideoData.Captions.Cleaning;
using VideoData.Captions.Reading;

namespace VideoData.Captions.Tests.Cleaning;

/// <summary>
/// Property tests of the reference dedup over random segment lists. Words are unique and of one
/// width ("w0042"), so any character overlap the algorithm finds is a whole-word overlap and a lost
/// or cut word is visible.
/// </summary>
public sealed class DedupPropertyTests
{
    [Fact]
    public void Clean_RandomSegmentLists_LoseNoWordOutsideAnOverlapAndNeverEndBeforeStart()
    {
        var random = new Random(20240611);
        var cleaner = new CaptionCleaner(new CaptionCleanerOptions { Seed = 3 });
        for (var trial = 0; trial < 2000; trial++)
        {
            var words = Enumerable.Range(0, random.Next(1, 60)).Select(i => $"w{i:D4}").ToArray();
            var cues = RandomWindows(random, words);
            var cleaned = cleaner.Clean($"trial{trial}", cues);
            var context = $"trial {trial}: {string.Join(" | ", cues.Select(cue => $"{cue.Start:0.##}-{cue.End:0.##} {cue.Text}"))}";

            var outputWords = new HashSet<string>();
            foreach (var segment in cleaned.Segments)
            {
                Assert.True(segment.End >= segment.Start, $"end {segment.End} < start {segment.Start}; {context}");
                Assert.True(segment.Start >= 0, context);
                Assert.NotEmpty(segment.Text);
                foreach (var word in segment.Text.Split(' '))
                {
                    Assert.True(word.Length == 5 && word[0] == 'w', $"cut word '{word}'; {context}");
                    outputWords.Add(word);
                }
            }

            var inputWords = cues.Where(cue => double.IsFinite(cue.Start) && cue.End >= 0).SelectMany(cue => cue.Text!.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            foreach (var word in inputWords)
            {
                Assert.True(outputWords.Contains(word), $"lost '{word}'; {context}");
            }
        }
    }

    [Fact]
    public void Apply_RandomSegmentLists_SameSegmentsAsTheQuadraticSearch()
    {
        // The same 2,000 cases as above (same generator and seed), deduplicated by the prefix-function
        // search and by the quadratic search it replaced, on the cleaner's own repaired cue lists.
        var random = new Random(20240611);
        var keep = new CaptionCleaner(new CaptionCleanerOptions { Dedup = DedupMode.None });
        var cleaner = new CaptionCleaner(new CaptionCleanerOptions { Seed = 3 });
        var merged = 0;
        for (var trial = 0; trial < 2000; trial++)
        {
            var words = Enumerable.Range(0, random.Next(1, 60)).Select(i => $"w{i:D4}").ToArray();
            var cues = RandomWindows(random, words);
            var videoId = $"trial{trial}";
            keep.CleanUntokenized(videoId, cues, out var kept);

            var oldCoin = new DedupCoin(3, videoId);
            var expected = QuadraticDedup.Apply([.. kept], ref oldCoin);
            var newCoin = new DedupCoin(3, videoId);
            var actual = ReferenceDedup.Apply([.. kept], ref newCoin);
            Assert.Equal(Describe(expected), Describe(actual));
            Assert.Equal(Describe(expected), cleaner.Clean(videoId, cues).Segments.Select(segment => (segment.Start, segment.End, segment.Text)));
            merged += kept.Count - expected.Count;
        }

        // The cases exercise the merges, not only appends.
        Assert.True(merged > 500, $"only {merged} merges");

        static IEnumerable<(double, double, string)> Describe(List<TimedText> segments) => segments.Select(segment => (segment.Start, segment.End, segment.Text));
    }

    [Fact]
    public void Clean_RollingLines_ReproduceTheSpokenStreamExactlyOnce()
    {
        // Rolling shape: each cue repeats the previous cue's new line and adds a line. The reference
        // collapses this exactly, whichever way each coin falls.
        var random = new Random(99);
        var cleaner = new CaptionCleaner();
        for (var trial = 0; trial < 500; trial++)
        {
            var words = Enumerable.Range(0, random.Next(1, 80)).Select(i => $"w{i:D4}").ToArray();
            var cues = new List<CaptionCue>();
            int lineStart = 0, lineEnd = Math.Min(words.Length, random.Next(1, 6));
            cues.Add(new CaptionCue(0, 2, string.Join(' ', words[..lineEnd])));
            while (lineEnd < words.Length)
            {
                var next = Math.Min(words.Length, lineEnd + random.Next(1, 6));
                cues.Add(new CaptionCue(cues.Count * 2.0, (cues.Count * 2.0) + 2.5, string.Join(' ', words[lineStart..next])));
                (lineStart, lineEnd) = (lineEnd, next);
            }

            var cleaned = cleaner.Clean($"roll{trial}", cues);
            Assert.Equal(string.Join(' ', words), string.Join(' ', cleaned.Segments.Select(segment => segment.Text)));
        }
    }

    private static List<CaptionCue> RandomWindows(Random random, string[] words)
    {
        var cues = new List<CaptionCue>();
        for (var i = random.Next(1, 12); i > 0; i--)
        {
            var from = random.Next(words.Length);
            var to = random.Next(from + 1, words.Length + 1);
            var start = random.Next(10) == 0 ? double.NaN : (random.NextDouble() * 40) - 5;
            var end = start + (random.NextDouble() * 10) - 2;
            cues.Add(new CaptionCue(start, end, string.Join(' ', words[from..to])));
        }

        return cues;
    }
}
