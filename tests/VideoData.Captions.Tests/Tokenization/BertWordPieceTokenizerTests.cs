using VideoData.Captions.Tokenization;
using VideoData.Testing;

namespace VideoData.Captions.Tests.Tokenization;

/// <summary>
/// Known id sequences of bert-base-uncased. Each expectation was derived by hand from the
/// vocabulary file (id = line number from 0) following BERT's basic tokenizer and greedy
/// longest-match WordPiece; the derivation is in the comment beside the case.
/// </summary>
public sealed class BertWordPieceTokenizerTests
{
    private static readonly BertWordPieceTokenizer s_tokenizer = BertWordPieceTokenizer.Default;

    [Theory]
    // straw + ##berries: no longer prefix of "strawberries" (strawb…strawberrie) is in the vocabulary.
    [InlineData("i like strawberries", new[] { 1045, 2066, 13137, 20968 })]
    // Lower-cased; comma and exclamation mark are tokens of their own.
    [InlineData("Hello, World!", new[] { 7592, 1010, 2088, 999 })]
    // ASCII symbols count as punctuation in BERT ($ + = ^ ` | ~ are Unicode symbols, not P*).
    [InlineData("$5 a+b=c ^_^ `x` |y| ~z", new[] { 1002, 1019, 1037, 1009, 1038, 1027, 1039, 1034, 1035, 1034, 1036, 1060, 1036, 1064, 1061, 1064, 1066, 1062 })]
    // NFD + combining marks stripped: naive, cafe, unicode.
    [InlineData("naïve café Ünïcödé", new[] { 15743, 7668, 27260 })]
    // CJK ideographs are single tokens; katakana is a word: タ ##ワ ##ー.
    [InlineData("東京 is 東京タワー", new[] { 1879, 1755, 2003, 1879, 1755, 1709, 30262, 30265 })]
    // U+200B (format) is removed, joining a and b into "ab"; U+00A0 is whitespace.
    [InlineData("a\u200bb x\u00a0y", new[] { 11113, 1060, 1061 })]
    // Numbers: 3 . 141 ##59 and 1 , 000 , 000.
    [InlineData("3.14159 and 1,000,000", new[] { 1017, 1012, 15471, 28154, 1998, 1015, 1010, 2199, 1010, 2199 })]
    // una + ##ffa + ##ble (unaf…unaffable and ##ffab…##ffable are absent).
    [InlineData("unaffable", new[] { 14477, 20961, 3468 })]
    [InlineData("don't you're", new[] { 2123, 1005, 1056, 2017, 1005, 2128 })]
    // NUL and U+FFFD are dropped, so the word is "ab".
    [InlineData("\0a\uFFFDb", new[] { 11113 })]
    [InlineData("hello\tworld\r\nnew", new[] { 7592, 2088, 2047 })]
    // Vertical tab, form feed and U+0085 are controls BERT deletes (no word break); U+2028 splits words.
    [InlineData("a\vb c\fd a\u0085b x\u2028y", new[] { 11113, 3729, 11113, 1060, 1061 })]
    // Right single quotation mark is punctuation (Pf): resume ’ s.
    [InlineData("Résumé’s", new[] { 13746, 1521, 1055 })]
    // "hi" is a piece but "##😀" is not: the whole word is unknown.
    [InlineData("hi😀 x", new[] { 100, 1060 })]
    [InlineData("", new int[0])]
    [InlineData(" \t\r\n ", new int[0])]
    public void Encode_KnownText_MatchesBertIds(string text, int[] expected)
    {
        Assert.Equal(expected, s_tokenizer.Encode(text));
    }

    [Fact]
    public void Encode_WordOverHundredCharacters_IsUnknown()
    {
        Assert.Equal(new[] { 100 }, s_tokenizer.Encode(new string('a', 101)));
        Assert.NotEqual(new[] { 100 }, s_tokenizer.Encode(new string('a', 100)));
    }

    [Fact]
    public void SpecialTokens_HaveBertBaseUncasedIds()
    {
        Assert.Equal(101, s_tokenizer.ClsId);
        Assert.Equal(102, s_tokenizer.SepId);
        Assert.Equal(0, s_tokenizer.PadId);
        Assert.Equal(100, s_tokenizer.UnkId);
        Assert.Equal(103, s_tokenizer.MaskId);
        Assert.Equal(30522, s_tokenizer.VocabularySize);
        Assert.Equal("##berries", s_tokenizer.IdToToken(20968));
    }

    [Fact]
    public void EncodeSegment_ManyWords_KeepsFirst32Ids()
    {
        var ids = s_tokenizer.EncodeSegment("b " + string.Concat(Enumerable.Repeat("a ", 40)));
        Assert.Equal(32, ids.Length);
        Assert.Equal(1038, ids[0]);
        Assert.All(ids[1..], id => Assert.Equal(1037, id));
    }

    [Fact]
    public void EncodeSegment_WordCrossingCharacter96_IsCut()
    {
        // Characters 90..95 are "strawb": straw + ##b; the rest of the word is beyond the limit.
        var text = new string(' ', 90) + "strawberries";
        Assert.Equal(new[] { 13137, 2497 }, s_tokenizer.EncodeSegment(text));
        Assert.Equal(new[] { 13137, 20968 }, s_tokenizer.Encode(text));
    }

    [Fact]
    public void EncodeSegment_SurrogatePairAtLimit_CountsScalarsNotUtf16Units()
    {
        // 95 "x"-free characters then an emoji: Python's text[:96] keeps the emoji whole.
        var text = new string(' ', 95) + "😀tail";
        Assert.Equal(96, BertWordPieceTokenizer.TakeScalars(text, 96).Length - 1);
        Assert.Equal(new[] { 100 }, s_tokenizer.EncodeSegment(text));
    }

    [Fact]
    public void FromFile_SharedVocabulary_GivesSameIdsAsEmbedded()
    {
        var fromFile = BertWordPieceTokenizer.FromFile(RepoPaths.RequireSharedTestData("text", "bert-base-uncased-vocab.txt"));
        const string Text = "Cut the onions, then fry them for 3 minutes at 180°C — café style!";
        Assert.Equal(s_tokenizer.Encode(Text), fromFile.Encode(Text));
        Assert.Equal(s_tokenizer.VocabularySize, fromFile.VocabularySize);
    }

    [Fact]
    public void FromStream_NotABertVocabulary_ThrowsNamingTheSource()
    {
        using var stream = new MemoryStream("hello\nworld\n"u8.ToArray());
        var error = Assert.Throws<InvalidDataException>(() => BertWordPieceTokenizer.FromStream(stream, "my-vocab.txt"));
        Assert.Contains("my-vocab.txt", error.Message, StringComparison.Ordinal);
        Assert.Contains("[UNK]", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Encode_RandomAsciiText_FastPathMatchesGeneralPath(int seed)
    {
        // Words of the vocabulary, pieces of words, digits, every ASCII punctuation and whitespace
        // control, upper case, long words: the ASCII fast path must give the general path's ids.
        string[] atoms = ["the", "Onion", "strawberries", "unaffable", "xyzzyq", "3.14", "don't", "a+b", new string('k', 101), new string('s', 100)];
        const string Singles = "\t\n\v\f\r !\"#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~";
        var random = new Random(seed);
        for (var round = 0; round < 2000; round++)
        {
            var builder = new System.Text.StringBuilder();
            var parts = random.Next(0, 30);
            for (var i = 0; i < parts; i++)
            {
                builder.Append(random.Next(3) == 0 ? Singles[random.Next(Singles.Length)].ToString() : atoms[random.Next(atoms.Length)]);
            }

            var text = builder.ToString();
            foreach (var max in new[] { 1, 5, 32, int.MaxValue })
            {
                Assert.Equal(s_tokenizer.EncodeGeneral(text, max), s_tokenizer.Encode(text, max));
            }
        }
    }

    [Fact]
    public void PieceTable_WholeVocabulary_FindsEveryPieceAndNothingElse()
    {
        var entries = Enumerable.Range(0, s_tokenizer.VocabularySize).Select(id => (s_tokenizer.IdToToken(id), id)).ToList();
        entries.Add(("the", 99_999)); // a later duplicate: the first id wins
        var table = new PieceTable(entries);
        var firstIds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (key, id) in entries)
        {
            firstIds.TryAdd(key, id);
        }

        foreach (var (key, id) in firstIds)
        {
            Assert.True(table.TryGetValue(key, out var found), key);
            Assert.Equal(id, found);
        }

        foreach (var absent in new[] { "", "strawberries", "theonion", "##", "th", "THE", "the " })
        {
            Assert.Equal(firstIds.ContainsKey(absent), table.TryGetValue(absent, out _));
        }
    }
}
