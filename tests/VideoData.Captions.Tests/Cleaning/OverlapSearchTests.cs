using System.Security.Cryptography;
using System.Text;
using VideoData.Captions.Cleaning;
using VideoData.Captions.Reading;

namespace VideoData.Captions.Tests.Cleaning;

/// <summary>
/// The prefix-function overlap search against the quadratic search it replaced (character rule) and
/// against a brute-force whole-word search (<see cref="DedupMode.Words"/>), on random strings, a
/// generated corpus and adversarial cues.
/// </summary>
public sealed class OverlapSearchTests
{
    // Few distinct characters so overlaps (and overlaps of overlaps) are frequent; a surrogate pair
    // and a lone high surrogate make sure code units, not scalars, are compared, as before.
    private static readonly string[] s_pieces = ["a", "a", "b", " ", "ab", "\uD83D\uDE00", "\uD83D"];

    [Fact]
    public void ShortestOverlap_RandomStrings_SameAsQuadraticSearch()
    {
        var random = new Random(181);
        var nonZero = 0;
        for (var trial = 0; trial < 100_000; trial++)
        {
            var previous = RandomText(random, random.Next(1, 24));
            var current = RandomText(random, random.Next(1, 24));
            var expected = QuadraticDedup.ShortestOverlap(previous, current);
            Assert.True(expected == ReferenceDedup.ShortestOverlap(previous, current), $"'{previous}' / '{current}': expected {expected}");
            Assert.True(expected == ReferenceDedup.PrefixFunctionOverlap(previous, current), $"'{previous}' / '{current}': prefix function, expected {expected}");
            nonZero += expected > 0 ? 1 : 0;
        }

        Assert.True(nonZero > 30_000, $"only {nonZero} overlaps");
    }

    [Fact]
    public void ShortestOverlap_WholeWords_SameAsBruteForceWordSearch()
    {
        var random = new Random(182);
        var found = 0;
        for (var trial = 0; trial < 100_000; trial++)
        {
            var previous = RandomText(random, random.Next(1, 24)).Trim();
            var current = RandomText(random, random.Next(1, 24)).Trim();
            if (previous.Length == 0 || current.Length == 0)
            {
                continue;
            }

            var expected = BruteForceWholeWords(previous, current);
            Assert.True(expected == ReferenceDedup.ShortestOverlap(previous, current, wholeWords: true), $"'{previous}' / '{current}': expected {expected}");
            Assert.True(expected == ReferenceDedup.PrefixFunctionOverlap(previous, current, wholeWords: true), $"'{previous}' / '{current}': prefix function, expected {expected}");
            found += expected > 0 ? 1 : 0;
        }

        Assert.True(found > 500, $"only {found} whole-word overlaps");
    }

    [Fact]
    public void ShortestOverlap_LongRepetitiveStrings_PastTheBudget_SameAsQuadraticSearch()
    {
        // Texts of "a" and "b" runs up to 400 characters: the direct search runs out of budget on many of them and the
        // prefix function answers; every answer must still be the quadratic search's.
        var random = new Random(183);
        for (var trial = 0; trial < 3_000; trial++)
        {
            var previous = Repetitive(random, random.Next(1, 400));
            var current = Repetitive(random, random.Next(1, 400));
            Assert.Equal(QuadraticDedup.ShortestOverlap(previous, current), ReferenceDedup.ShortestOverlap(previous, current));
            Assert.Equal(BruteForceWholeWords(previous, current), ReferenceDedup.ShortestOverlap(previous, current, wholeWords: true));
        }

        static string Repetitive(Random random, int length)
        {
            var builder = new StringBuilder(length);
            while (builder.Length < length)
            {
                builder.Append(random.Next(8) switch { 0 => 'b', 1 => ' ', _ => 'a' });
            }

            return builder.ToString().Trim() is { Length: > 0 } text ? text : "a";
        }
    }

    [Theory]
    [InlineData("add a pinch of salt", "then heat the pan", 1, 0)]
    [InlineData("we cut the onion", "the onion into rings", 9, 9)]
    [InlineData("I said no no", "no no more", 2, 2)]
    [InlineData("the piano", "no way", 2, 0)]
    [InlineData("aaa", "aaab", 1, 0)]
    [InlineData("x aa", "aa aa y", 1, 2)]
    [InlineData("abc", "xyz", 0, 0)]
    public void ShortestOverlap_Examples_CharacterAndWholeWordRules(string previous, string current, int characters, int words)
    {
        Assert.Equal(characters, ReferenceDedup.ShortestOverlap(previous, current));
        Assert.Equal(characters, ReferenceDedup.PrefixFunctionOverlap(previous, current));
        Assert.Equal(characters, QuadraticDedup.ShortestOverlap(previous, current));
        Assert.Equal(words, ReferenceDedup.ShortestOverlap(previous, current, wholeWords: true));
        Assert.Equal(words, ReferenceDedup.PrefixFunctionOverlap(previous, current, wholeWords: true));
    }

    [Fact]
    public void Apply_AdversarialMegabyteCues_SameResultAsTheQuadraticRule()
    {
        // "a…ab" then "a…ac": no prefix of the second ends the first, but the quadratic search compared
        // ~n²/2 characters to learn it (5·10¹¹ for these two); the prefix function needs ~4n steps.
        const int N = 1_000_000;
        var ab = new string('a', N - 1) + "b";
        var ac = new string('a', N - 1) + "c";
        Assert.Equal(0, ReferenceDedup.ShortestOverlap(ab, ac));
        var coin = new DedupCoin(0, "adversarial");
        var output = ReferenceDedup.Apply([new TimedText(0, 1, ab), new TimedText(1, 2, ac)], ref coin);
        Assert.Equal([ab, ac], output.Select(segment => segment.Text));

        // And an overlap whose chain of shorter borders is as long as the text: "a…a" then "a…ab".
        var aa = new string('a', N);
        var aab = new string('a', N / 2) + "b";
        Assert.Equal(1, ReferenceDedup.ShortestOverlap(aa, aab));
        Assert.Equal(0, ReferenceDedup.ShortestOverlap(aa, aab, wholeWords: true));
    }

    [Fact]
    public void Clean_AdversarialTwoMegabyteSrt_ReadAndCleanedWithAndWithoutTheCap()
    {
        // The adversarial file of infra/bench/captions_dedup.sh, through the reader and the cleaner as the pipeline runs them.
        const int N = 999_950;
        var srt = $"1\n00:00:01,000 --> 00:00:02,000\n{new string('a', N - 1)}b\n\n2\n00:00:02,000 --> 00:00:03,000\n{new string('a', N - 1)}c\n";
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(srt));
        var track = CaptionFileReader.Read(stream, "adversarial.srt");
        Assert.Equal(2, track.Cues.Count);

        var uncapped = new CaptionCleaner(new CaptionCleanerOptions { MaxCueCharacters = int.MaxValue }).Clean("adversarial", track.Cues);
        Assert.Equal([N, N], uncapped.Segments.Select(segment => segment.Text.Length));
        Assert.Equal(0, uncapped.Counts.TruncatedLongText);

        // With the default cap both cues become the same 10,000 a's: the second ends the first and merges into it.
        var capped = new CaptionCleaner().Clean("adversarial", track.Cues);
        Assert.Equal(2, capped.Counts.TruncatedLongText);
        var segment = Assert.Single(capped.Segments);
        Assert.Equal((1.0, 3.0, CaptionCleanerOptions.DefaultMaxCueCharacters), (segment.Start, segment.End, segment.Text.Length));
    }

    [Fact]
    public void Apply_GeneratedCorpus_SameSha256AsTheQuadraticRule()
    {
        // 10,000 generated videos (infra/bench/CaptionsBench runs the same comparison on 100,000).
        var (quadratic, linear, segments) = CorpusDigests(videos: 10_000, seed: 18);
        Assert.True(segments > 200_000, $"only {segments} segments");
        Assert.Equal(quadratic, linear);
    }

    /// <summary>SHA-256 of every segment of a generated corpus, deduplicated by the quadratic and by the linear search.</summary>
    internal static (string Quadratic, string Linear, long Segments) CorpusDigests(int videos, int seed)
    {
        using var quadratic = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var linear = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var random = new Random(seed);
        long segments = 0;
        for (var video = 0; video < videos; video++)
        {
            var id = $"v{video:D6}";
            var cues = GeneratedVideo(random);
            var oldCoin = new DedupCoin(0, id);
            var newCoin = new DedupCoin(0, id);
            var before = QuadraticDedup.Apply([.. cues], ref oldCoin);
            var after = ReferenceDedup.Apply([.. cues], ref newCoin);
            Append(quadratic, id, before);
            Append(linear, id, after);
            segments += before.Count;
        }

        return (Convert.ToHexString(quadratic.GetHashAndReset()), Convert.ToHexString(linear.GetHashAndReset()), segments);

        static void Append(IncrementalHash hash, string id, List<TimedText> segments)
        {
            foreach (var segment in segments)
            {
                hash.AppendData(Encoding.UTF8.GetBytes($"{id}\t{segment.Start:R}\t{segment.End:R}\t{segment.Text}\n"));
            }
        }
    }

    /// <summary>
    /// One video's cues in the ASR style of the bench corpus: a third of the cues repeat the end of the
    /// previous one; words share letters so character overlaps inside words are common.
    /// </summary>
    internal static List<TimedText> GeneratedVideo(Random random)
    {
        string[] words = ["now", "we", "are", "going", "to", "cut", "the", "onion", "into", "small", "pieces", "and", "then", "add",
            "some", "oil", "pan", "heat", "it", "up", "until", "golden", "brown", "stir", "well", "with", "salt", "pepper", "garlic",
            "tomato", "sauce", "minutes", "later", "serve", "a", "an", "on", "no", "piano", "toast", "stew", "to-do"];
        var cues = new List<TimedText>();
        var time = random.NextDouble() * 3;
        List<string> previous = [];
        for (var i = random.Next(10, 70); i > 0; i--)
        {
            var text = new List<string>();
            if (previous.Count > 0 && random.Next(3) == 0)
            {
                text.AddRange(previous[random.Next(previous.Count)..]);
            }

            for (var n = random.Next(2, 9); n > 0; n--)
            {
                text.Add(words[random.Next(words.Length)]);
            }

            var duration = 1 + (random.NextDouble() * 4);
            cues.Add(new TimedText(Math.Round(time, 2), Math.Round(time + duration, 2), string.Join(' ', text)));
            time += duration * (0.6 + (random.NextDouble() * 0.6));
            previous = text;
        }

        return cues;
    }

    private static string RandomText(Random random, int pieces)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < pieces; i++)
        {
            builder.Append(s_pieces[random.Next(s_pieces.Length)]);
        }

        return builder.ToString();
    }

    private static int BruteForceWholeWords(string previous, string current)
    {
        for (var length = 1; length <= Math.Min(previous.Length, current.Length); length++)
        {
            var startsWord = length == previous.Length || char.IsWhiteSpace(previous[previous.Length - length - 1]);
            var endsWord = length == current.Length || char.IsWhiteSpace(current[length]);
            if (startsWord && endsWord && previous.EndsWith(current[..length], StringComparison.Ordinal))
            {
                return length;
            }
        }

        return 0;
    }
}
