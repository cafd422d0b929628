using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace VideoData.Captions.Tokenization;

/// <summary>
/// BERT uncased WordPiece tokenization (DESIGN §3): the reference basic tokenizer (drop NUL,
/// U+FFFD and Unicode "other" characters, whitespace split, a token per CJK ideograph, lower case,
/// NFD with combining marks stripped, a token per punctuation character — ASCII symbols such as
/// <c>$</c> and <c>+</c> included) followed by greedy longest-match-first WordPiece with the
/// <c>##</c> continuation prefix; a word longer than 100 characters becomes <c>[UNK]</c>, as does a
/// word that no sequence of pieces covers.
/// </summary>
/// <remarks>
/// Instances are immutable and safe to use from any number of threads. <see cref="Default"/> uses
/// the bert-base-uncased vocabulary embedded in this assembly (Apache-2.0, see
/// LICENSE-bert-vocab.txt beside the assembly). No special tokens are added by the encode methods;
/// the trainer adds <see cref="ClsId"/>, <see cref="SepId"/> and <see cref="PadId"/> itself.
/// </remarks>
public sealed class BertWordPieceTokenizer
{
    /// <summary>Characters of a segment's text that the reference tokenizes (DESIGN §3).</summary>
    public const int SegmentMaxCharacters = 96;

    /// <summary>Token ids kept per segment by the reference (DESIGN §3).</summary>
    public const int SegmentMaxTokens = 32;

    /// <summary>Longest word, in characters, that WordPiece splits; longer words become [UNK].</summary>
    public const int MaxCharactersPerWord = 100;

    private const string EmbeddedVocabularyName = "VideoData.Captions.bert-base-uncased-vocab.txt";

    private static readonly Lazy<BertWordPieceTokenizer> s_default = new(LoadEmbedded);

    // Printable ASCII and the controls BERT treats as word breaks (tab, line feed, carriage return):
    // text of these alone takes the fast path. Vertical tab and form feed are controls BERT deletes, so
    // they take the general path.
    private static readonly SearchValues<char> s_plainAscii = SearchValues.Create(
        "\t\n\r !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    private readonly string[] _tokens;
    private readonly PieceTable _wordStarts;
    private readonly PieceTable _continuations;
    private readonly int _longestPiece;

    private BertWordPieceTokenizer(string[] tokens, string sourceName)
    {
        _tokens = tokens;
        var wordStarts = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        var continuations = new Dictionary<string, int>(tokens.Length / 4, StringComparer.Ordinal);
        for (var id = 0; id < tokens.Length; id++)
        {
            var token = tokens[id];
            if (token.StartsWith("##", StringComparison.Ordinal) && token.Length > 2)
            {
                continuations.TryAdd(token[2..], id);
                _longestPiece = Math.Max(_longestPiece, token.Length - 2);
            }
            else
            {
                wordStarts.TryAdd(token, id);
                _longestPiece = Math.Max(_longestPiece, token.Length);
            }
        }

        _wordStarts = new PieceTable([.. wordStarts.Select(pair => (pair.Key, pair.Value))]);
        _continuations = new PieceTable([.. continuations.Select(pair => (pair.Key, pair.Value))]);
        UnkId = Require(wordStarts, "[UNK]", sourceName);
        ClsId = Require(wordStarts, "[CLS]", sourceName);
        SepId = Require(wordStarts, "[SEP]", sourceName);
        PadId = Require(wordStarts, "[PAD]", sourceName);
        MaskId = Require(wordStarts, "[MASK]", sourceName);
    }

    /// <summary>The tokenizer over the embedded bert-base-uncased vocabulary (30,522 entries).</summary>
    public static BertWordPieceTokenizer Default => s_default.Value;

    /// <summary>Id of <c>[UNK]</c> (100 in bert-base-uncased).</summary>
    public int UnkId { get; }

    /// <summary>Id of <c>[CLS]</c> (101 in bert-base-uncased).</summary>
    public int ClsId { get; }

    /// <summary>Id of <c>[SEP]</c> (102 in bert-base-uncased).</summary>
    public int SepId { get; }

    /// <summary>Id of <c>[PAD]</c> (0 in bert-base-uncased).</summary>
    public int PadId { get; }

    /// <summary>Id of <c>[MASK]</c> (103 in bert-base-uncased).</summary>
    public int MaskId { get; }

    /// <summary>Number of entries in the vocabulary; ids are 0 ≤ id &lt; this.</summary>
    public int VocabularySize => _tokens.Length;

    /// <summary>
    /// Loads a vocabulary file in BERT's format: one token per line, the line number (from 0)
    /// being the id. Throws <see cref="InvalidDataException"/> naming the file when it is empty or
    /// lacks a special token.
    /// </summary>
    public static BertWordPieceTokenizer FromFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        return FromStream(stream, path);
    }

    /// <summary>As <see cref="FromFile"/>, reading UTF-8 lines from <paramref name="stream"/>; <paramref name="sourceName"/> names it in errors.</summary>
    public static BertWordPieceTokenizer FromStream(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var tokens = new List<string>(32_000);
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, leaveOpen: true);
        while (reader.ReadLine() is { } line)
        {
            // Vocabulary lines carry no meaningful trailing whitespace; a CRLF file must give the same ids.
            tokens.Add(line.TrimEnd('\r', ' ', '\t'));
        }

        if (tokens.Count == 0)
        {
            throw new InvalidDataException($"Vocabulary '{sourceName}' is empty.");
        }

        return new BertWordPieceTokenizer([.. tokens], sourceName);
    }

    /// <summary>The vocabulary entry of <paramref name="id"/> (continuation pieces keep their <c>##</c>).</summary>
    public string IdToToken(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, _tokens.Length);
        return _tokens[id];
    }

    /// <summary>Tokenizes the whole of <paramref name="text"/>; no special tokens, no truncation.</summary>
    public int[] Encode(ReadOnlySpan<char> text) => Encode(text, int.MaxValue);

    /// <summary>Tokenizes <paramref name="text"/>, keeping at most <paramref name="maxTokens"/> ids (the first ones).</summary>
    public int[] Encode(ReadOnlySpan<char> text, int maxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxTokens);
        var ids = new IdBuffer(maxTokens);
        try
        {
            Tokenize(text, ref ids);
            return ids.ToArray();
        }
        finally
        {
            ids.Dispose();
        }
    }

    /// <summary>
    /// Tokenizes a caption segment as the reference does: the first
    /// <see cref="SegmentMaxCharacters"/> characters (Unicode scalar values) of the text, at most
    /// <see cref="SegmentMaxTokens"/> ids, no special tokens.
    /// </summary>
    public int[] EncodeSegment(ReadOnlySpan<char> text) => Encode(TakeScalars(text, SegmentMaxCharacters), SegmentMaxTokens);

    /// <summary>As <see cref="EncodeSegment(ReadOnlySpan{char})"/>, into <paramref name="destination"/> (at least <see cref="SegmentMaxTokens"/> long); returns the number of ids.</summary>
    internal int EncodeSegment(ReadOnlySpan<char> text, Span<int> destination)
    {
        var ids = new IdBuffer(SegmentMaxTokens);
        try
        {
            Tokenize(TakeScalars(text, SegmentMaxCharacters), ref ids);
            return ids.CopyTo(destination);
        }
        finally
        {
            ids.Dispose();
        }
    }

    /// <summary>The first <paramref name="count"/> Unicode scalar values of <paramref name="text"/> (Python's <c>text[:count]</c>).</summary>
    internal static ReadOnlySpan<char> TakeScalars(ReadOnlySpan<char> text, int count)
    {
        if (text.Length <= count)
        {
            return text;
        }

        var index = 0;
        for (var taken = 0; taken < count && index < text.Length; taken++)
        {
            index += char.IsHighSurrogate(text[index]) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]) ? 2 : 1;
        }

        return text[..index];
    }

    /// <summary>As <see cref="Encode(ReadOnlySpan{char}, int)"/> but always on the general (any Unicode) path; tests compare it with the ASCII fast path.</summary>
    internal int[] EncodeGeneral(ReadOnlySpan<char> text, int maxTokens)
    {
        var ids = new IdBuffer(maxTokens);
        try
        {
            TokenizeGeneral(text, ref ids);
            return ids.ToArray();
        }
        finally
        {
            ids.Dispose();
        }
    }

    private void Tokenize(ReadOnlySpan<char> text, ref IdBuffer ids)
    {
        // Nearly all caption text is printable ASCII, where every rule of the general path reduces to a
        // table lookup per character: take that path without decoding runes or Unicode categories.
        if (text.IndexOfAnyExcept(s_plainAscii) < 0)
        {
            TokenizeAscii(text, ref ids);
        }
        else
        {
            TokenizeGeneral(text, ref ids);
        }
    }

    /// <summary>Tokenizes text of <see cref="s_plainAscii"/> characters only; the same ids as <see cref="TokenizeGeneral"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TokenizeAscii(ReadOnlySpan<char> text, ref IdBuffer ids)
    {
        char[]? rented = null;
        var lowered = text.Length <= 256 ? stackalloc char[256] : (rented = ArrayPool<char>.Shared.Rent(text.Length));
        try
        {
            lowered = lowered[..text.Length];
            Ascii.ToLower(text, lowered, out _);
            var index = 0;
            while (index < lowered.Length && !ids.IsFull)
            {
                var c = lowered[index];
                if (c <= ' ')
                {
                    // Tab, line feed, carriage return or space: a word break.
                    index++;
                    continue;
                }

                if (IsAsciiPunctuation(c))
                {
                    WordPiece(lowered.Slice(index, 1), ref ids);
                    index++;
                    continue;
                }

                var end = index + 1;
                while (end < lowered.Length && lowered[end] > ' ' && !IsAsciiPunctuation(lowered[end]))
                {
                    end++;
                }

                WordPiece(lowered[index..end], ref ids);
                index = end;
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private static bool IsAsciiPunctuation(char c) => c is (>= '!' and <= '/') or (>= ':' and <= '@') or (>= '[' and <= '`') or (>= '{' and <= '~');

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TokenizeGeneral(ReadOnlySpan<char> text, ref IdBuffer ids)
    {
        // Words are gathered with control characters already dropped, then normalized and split.
        var word = ArrayPool<char>.Shared.Rent(Math.Max(16, text.Length));
        try
        {
            var length = 0;
            var index = 0;
            while (index < text.Length && !ids.IsFull)
            {
                var status = Rune.DecodeFromUtf16(text[index..], out var rune, out var consumed);
                index += consumed;
                if (status != OperationStatus.Done)
                {
                    // A lone surrogate is category Cs ("other"), which the reference drops.
                    continue;
                }

                var value = rune.Value;
                if (value is 0 or 0xFFFD)
                {
                    continue;
                }

                // BERT's whitespace is tab, line feed, carriage return and category Zs; the other controls
                // that .NET counts as white space (vertical tab, form feed, U+0085) are deleted, as every
                // category-C character is. Line and paragraph separators still split words there.
                if (value is '\v' or '\f' or 0x85)
                {
                    continue;
                }

                if (value is '\t' or '\n' or '\r' || Rune.IsWhiteSpace(rune))
                {
                    FlushWord(word.AsSpan(0, length), ref ids);
                    length = 0;
                    continue;
                }

                if (IsOther(Rune.GetUnicodeCategory(rune)))
                {
                    continue;
                }

                if (IsCjkIdeograph(value))
                {
                    FlushWord(word.AsSpan(0, length), ref ids);
                    length = 0;
                    FlushWord(text.Slice(index - consumed, consumed), ref ids);
                    continue;
                }

                length += rune.EncodeToUtf16(word.AsSpan(length));
            }

            FlushWord(word.AsSpan(0, length), ref ids);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(word);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FlushWord(ReadOnlySpan<char> word, ref IdBuffer ids)
    {
        if (word.IsEmpty || ids.IsFull)
        {
            return;
        }

        if (Ascii.IsValid(word))
        {
            Span<char> lowered = word.Length <= 256 ? stackalloc char[word.Length] : new char[word.Length];
            Ascii.ToLower(word, lowered, out _);
            SplitPunctuation(lowered, ref ids);
            return;
        }

        SplitPunctuation(LowerAndStripAccents(word), ref ids);
    }

    private static string LowerAndStripAccents(ReadOnlySpan<char> word)
    {
        // Lower first (as the reference does), then NFD and drop combining marks; lower again so a
        // character whose decomposition has an upper-case base (U+0130) ends lower-case as in Python.
        var decomposed = word.ToString().ToLowerInvariant().Normalize(NormalizationForm.FormD);
        var builder = new StringBuilder(decomposed.Length);
        foreach (var rune in decomposed.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark)
            {
                builder.Append(Rune.ToLowerInvariant(rune).ToString());
            }
        }

        return builder.ToString();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SplitPunctuation(ReadOnlySpan<char> word, ref IdBuffer ids)
    {
        var start = 0;
        var index = 0;
        while (index < word.Length && !ids.IsFull)
        {
            Rune.DecodeFromUtf16(word[index..], out var rune, out var consumed);
            if (IsPunctuation(rune))
            {
                WordPiece(word[start..index], ref ids);
                WordPiece(word.Slice(index, consumed), ref ids);
                start = index + consumed;
            }

            index += consumed;
        }

        WordPiece(word[start..], ref ids);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WordPiece(ReadOnlySpan<char> token, ref IdBuffer ids)
    {
        if (token.IsEmpty || ids.IsFull)
        {
            return;
        }

        // Greedy longest-match-first tries the whole token first; most caption words are one piece.
        if (token.Length <= Math.Min(_longestPiece, MaxCharactersPerWord) && _wordStarts.TryGetValue(token, out var whole))
        {
            ids.Add(whole);
            return;
        }

        if (CountScalars(token) > MaxCharactersPerWord)
        {
            ids.Add(UnkId);
            return;
        }

        // Pieces are gathered first: if any position has no match, the whole word is [UNK].
        Span<int> pieces = stackalloc int[2 * MaxCharactersPerWord];
        var count = 0;
        var start = 0;
        while (start < token.Length)
        {
            var lookup = start == 0 ? _wordStarts : _continuations;
            var found = -1;
            for (var end = Math.Min(token.Length, start + _longestPiece); end > start; end--)
            {
                if (lookup.TryGetValue(token[start..end], out var id))
                {
                    found = id;
                    start = end;
                    break;
                }
            }

            if (found < 0)
            {
                ids.Add(UnkId);
                return;
            }

            pieces[count++] = found;
        }

        for (var i = 0; i < count && !ids.IsFull; i++)
        {
            ids.Add(pieces[i]);
        }
    }

    private static int CountScalars(ReadOnlySpan<char> text)
    {
        var count = text.Length;
        foreach (var c in text)
        {
            if (char.IsLowSurrogate(c))
            {
                count--;
            }
        }

        return count;
    }

    private static bool IsOther(UnicodeCategory category) => category is UnicodeCategory.Control
        or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    private static bool IsPunctuation(Rune rune)
    {
        var value = rune.Value;
        if (value is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126))
        {
            return true;
        }

        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    // The CJK Unified Ideographs blocks BERT isolates (not Hiragana, Katakana or Hangul, which are words).
    private static bool IsCjkIdeograph(int value) => value is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF)
        or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F)
        or (>= 0x2B820 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    private static int Require(Dictionary<string, int> vocabulary, string token, string sourceName) =>
        vocabulary.TryGetValue(token, out var id)
            ? id
            : throw new InvalidDataException($"Vocabulary '{sourceName}' has no {token} entry; it is not a BERT WordPiece vocabulary.");

    private static BertWordPieceTokenizer LoadEmbedded()
    {
        using var stream = typeof(BertWordPieceTokenizer).Assembly.GetManifestResourceStream(EmbeddedVocabularyName)
            ?? throw new InvalidOperationException($"The embedded vocabulary '{EmbeddedVocabularyName}' is missing from {typeof(BertWordPieceTokenizer).Assembly.GetName().Name}.");
        return FromStream(stream, "embedded bert-base-uncased");
    }

    /// <summary>A growable id list with a cap, pooled so tokenizing a segment allocates only its result.</summary>
    private struct IdBuffer(int capacity) : IDisposable
    {
        private int[] _items = ArrayPool<int>.Shared.Rent(Math.Min(Math.Max(capacity, 1), 64));
        private int _count;

        public readonly bool IsFull => _count >= capacity;

        public void Add(int id)
        {
            if (_count == _items.Length)
            {
                var larger = ArrayPool<int>.Shared.Rent(_items.Length * 2);
                _items.AsSpan(0, _count).CopyTo(larger);
                ArrayPool<int>.Shared.Return(_items);
                _items = larger;
            }

            _items[_count++] = id;
        }

        public readonly int[] ToArray() => _items.AsSpan(0, _count).ToArray();

        public readonly int CopyTo(Span<int> destination)
        {
            _items.AsSpan(0, _count).CopyTo(destination);
            return _count;
        }

        public void Dispose()
        {
            ArrayPool<int>.Shared.Return(_items);
            _items = [];
        }
    }
}
