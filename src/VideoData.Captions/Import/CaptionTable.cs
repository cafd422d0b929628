using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Serialization;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;
using VideoData.Core.IO;

namespace VideoData.Captions.Import;

/// <summary>
/// A caption table: Parquet, one row per video, <c>video_id VARCHAR</c> and <c>segments
/// STRUCT(start DOUBLE, end DOUBLE, text VARCHAR, token_ids INTEGER[])[]</c>, rows in shard order.
/// </summary>
/// <remarks>
/// The schema is the one Parquet.Net's serializer derives from <see cref="CaptionRow"/> (so
/// <see cref="ReadAsync"/> reads the tables back), but the tables are written column by column
/// with explicit repetition and definition levels straight from the spill records: no object per
/// row or segment.
/// </remarks>
internal static class CaptionTable
{
    /// <summary>Rows per row group: small enough that the column buffers of two tables written at once stay a few MB.</summary>
    public const int RowGroupSize = 512;

    // Parquet.Net's stream pools otherwise keep up to 80 MB of free buffers alive after writing, and
    // without sampling it hashes every value of every column to decide on dictionary encoding.
    // Uncompressed: the tables are an intermediate read once by the preprocessing join, and Snappy
    // was about 15% of an import's CPU for half the size (a 100,000-video corpus: 259 MB vs 126 MB).
    private static readonly ParquetOptions Options = new()
    {
        RowGroupSize = RowGroupSize,
        DictionaryEncodingSampleSize = 1024,
        MaximumSmallPoolFreeBytes = 1 << 20,
        MaximumLargePoolFreeBytes = 4 << 20,
        CompressionMethod = CompressionMethod.None,
    };

    private static readonly ParquetSchema Schema = typeof(CaptionRow).GetParquetSchema(forWriting: true);

    // video_id, segments.start, segments.end, segments.text, segments.token_ids.element: the leaves in schema order.
    private static readonly DataField[] Leaves = Schema.GetDataFields();

    /// <summary>Writes the records of <paramref name="spill"/> (none when null) in rank order as a table at <paramref name="path"/>, atomically.</summary>
    /// <param name="columns">Column buffers, reused from table to table (one per concurrent writer).</param>
    public static async Task WriteAsync(
        string path, SpillFile? spill, IReadOnlyDictionary<string, string> metadata, CaptionColumns columns, CancellationToken cancellationToken)
    {
        spill?.SortByRank();
        var rows = spill?.Count ?? 0;
        var temporary = OutputFile.TemporaryPathFor(path);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: false))
            {
                var writer = await ParquetWriter.CreateAsync(Schema, stream, Options, append: false, cancellationToken).ConfigureAwait(false);
                await using (writer.ConfigureAwait(false))
                {
                    writer.CustomMetadata = metadata;
                    for (var first = 0; first < rows; first += RowGroupSize)
                    {
                        columns.Load(spill!, first, Math.Min(RowGroupSize, rows - first));
                        using var group = writer.CreateRowGroup();
                        await group.WriteAllPartsAsync(Leaves[0], columns.Ids, columns.IdLevels, null, cancellationToken).ConfigureAwait(false);
                        await group.WriteAllPartsAsync(Leaves[1], columns.Starts, columns.SegmentLevels, columns.SegmentRepetitions, cancellationToken).ConfigureAwait(false);
                        await group.WriteAllPartsAsync(Leaves[2], columns.Ends, columns.SegmentLevels, columns.SegmentRepetitions, cancellationToken).ConfigureAwait(false);
                        await group.WriteAllPartsAsync(Leaves[3], columns.Texts, columns.TextLevels, columns.SegmentRepetitions, cancellationToken).ConfigureAwait(false);
                        await group.WriteAllPartsAsync(Leaves[4], columns.Tokens, columns.TokenLevels, columns.TokenRepetitions, cancellationToken).ConfigureAwait(false);
                        group.CompleteValidate();
                    }
                }
            }

            OutputFile.Publish(temporary, path);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    public static async Task<IList<CaptionRow>> ReadAsync(string path, CancellationToken cancellationToken = default) =>
        (await ParquetSerializer.DeserializeAsync<CaptionRow>(path, cancellationToken: cancellationToken).ConfigureAwait(false)).Data;
}

/// <summary>
/// One row group of a caption table as Parquet leaf columns: values plus Dremel definition and
/// repetition levels. Buffers grow to the largest row group seen and are reused.
/// </summary>
/// <remarks>
/// Levels follow the schema: <c>segments</c> (optional list, definition 1 when present) of
/// <c>element</c> (optional struct, 3) holding required <c>start</c>/<c>end</c> (3), optional
/// <c>text</c> (4) and an optional list <c>token_ids</c> (4 when present, 5 for an element). A video
/// with no segments is one level entry of definition 1; a segment with no token ids is one token
/// level entry of definition 4. Repetition: 0 starts a row, 1 a new segment, 2 a new token id.
/// </remarks>
internal sealed class CaptionColumns
{
    private ReadOnlyMemory<char>[] _ids = [];
    private int[] _idLevels = [];
    private double[] _starts = [];
    private double[] _ends = [];
    private ReadOnlyMemory<char>[] _texts = [];
    private int[] _segmentLevels = [];
    private int[] _textLevels = [];
    private int[] _segmentRepetitions = [];
    private int[] _tokens = [];
    private int[] _tokenLevels = [];
    private int[] _tokenRepetitions = [];
    private char[] _chars = [];
    private byte[] _records = [];
    private int _rows;
    private int _segments;
    private int _segmentEntries;
    private int _tokenCount;
    private int _tokenEntries;
    private int _charCount;

    public ReadOnlyMemory<ReadOnlyMemory<char>> Ids => _ids.AsMemory(0, _rows);

    public ReadOnlyMemory<int> IdLevels => _idLevels.AsMemory(0, _rows);

    public ReadOnlyMemory<double> Starts => _starts.AsMemory(0, _segments);

    public ReadOnlyMemory<double> Ends => _ends.AsMemory(0, _segments);

    public ReadOnlyMemory<ReadOnlyMemory<char>> Texts => _texts.AsMemory(0, _segments);

    public ReadOnlyMemory<int> SegmentLevels => _segmentLevels.AsMemory(0, _segmentEntries);

    public ReadOnlyMemory<int> TextLevels => _textLevels.AsMemory(0, _segmentEntries);

    public ReadOnlyMemory<int> SegmentRepetitions => _segmentRepetitions.AsMemory(0, _segmentEntries);

    public ReadOnlyMemory<int> Tokens => _tokens.AsMemory(0, _tokenCount);

    public ReadOnlyMemory<int> TokenLevels => _tokenLevels.AsMemory(0, _tokenEntries);

    public ReadOnlyMemory<int> TokenRepetitions => _tokenRepetitions.AsMemory(0, _tokenEntries);

    /// <summary>Loads records <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> (in rank order) of <paramref name="spill"/>.</summary>
    public void Load(SpillFile spill, int first, int count) => Fill(spill.ReadRows(first, count, ref _records), 0, count);

    /// <summary>Loads records <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> of <paramref name="shard"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Fill(SpilledShard shard, int first, int count)
    {
        var data = shard.Data.AsSpan();
        var offsets = shard.Offsets.AsSpan(first, count);
        int segments = 0, segmentEntries = 0, tokens = 0, tokenEntries = 0, textBytes = 0;
        foreach (var offset in offsets)
        {
            var at = offset + 4;
            var idLength = Read<int>(data, at);
            textBytes += idLength;
            at += 4 + idLength;
            var n = Read<int>(data, at);
            at += 4;
            segments += n;
            segmentEntries += Math.Max(1, n);
            tokenEntries += n == 0 ? 1 : 0;
            for (var s = 0; s < n; s++)
            {
                at += 16;
                var textLength = Read<int>(data, at);
                textBytes += textLength;
                at += 4 + textLength;
                var tokenCount = Read<int>(data, at);
                tokens += tokenCount;
                tokenEntries += Math.Max(1, tokenCount);
                at += 4 + (4 * tokenCount);
            }
        }

        Ensure(ref _ids, count);
        Ensure(ref _idLevels, count);
        Ensure(ref _starts, segments);
        Ensure(ref _ends, segments);
        Ensure(ref _texts, segments);
        Ensure(ref _segmentLevels, segmentEntries);
        Ensure(ref _textLevels, segmentEntries);
        Ensure(ref _segmentRepetitions, segmentEntries);
        Ensure(ref _tokens, tokens);
        Ensure(ref _tokenLevels, tokenEntries);
        Ensure(ref _tokenRepetitions, tokenEntries);

        // UTF-8 never takes fewer bytes than UTF-16 takes chars.
        Ensure(ref _chars, textBytes);
        _charCount = 0;
        int segment = 0, entry = 0, token = 0, tokenEntry = 0;
        for (var row = 0; row < count; row++)
        {
            var at = offsets[row] + 4;
            _ids[row] = Decode(data, ref at);
            _idLevels[row] = 1;
            var n = Read<int>(data, at);
            at += 4;
            if (n == 0)
            {
                (_segmentLevels[entry], _textLevels[entry], _segmentRepetitions[entry]) = (1, 1, 0);
                entry++;
                (_tokenLevels[tokenEntry], _tokenRepetitions[tokenEntry]) = (1, 0);
                tokenEntry++;
                continue;
            }

            for (var s = 0; s < n; s++)
            {
                var repetition = s == 0 ? 0 : 1;
                (_segmentLevels[entry], _textLevels[entry], _segmentRepetitions[entry]) = (3, 4, repetition);
                entry++;
                _starts[segment] = Read<double>(data, at);
                _ends[segment] = Read<double>(data, at + 8);
                at += 16;
                _texts[segment] = Decode(data, ref at);
                segment++;
                var tokenCount = Read<int>(data, at);
                at += 4;
                if (tokenCount == 0)
                {
                    (_tokenLevels[tokenEntry], _tokenRepetitions[tokenEntry]) = (4, repetition);
                    tokenEntry++;
                    continue;
                }

                MemoryMarshal.Cast<byte, int>(data.Slice(at, 4 * tokenCount)).CopyTo(_tokens.AsSpan(token));
                token += tokenCount;
                at += 4 * tokenCount;
                _tokenLevels.AsSpan(tokenEntry, tokenCount).Fill(5);
                _tokenRepetitions[tokenEntry] = repetition;
                _tokenRepetitions.AsSpan(tokenEntry + 1, tokenCount - 1).Fill(2);
                tokenEntry += tokenCount;
            }
        }

        (_rows, _segments, _segmentEntries, _tokenCount, _tokenEntries) = (count, segments, segmentEntries, tokens, tokenEntries);
    }

    private static T Read<T>(ReadOnlySpan<byte> data, int at)
        where T : unmanaged => MemoryMarshal.Read<T>(data[at..]);

    private static void Ensure<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[Math.Max(length, buffer.Length + (buffer.Length / 2))];
        }
    }

    private ReadOnlyMemory<char> Decode(ReadOnlySpan<byte> data, ref int at)
    {
        var length = Read<int>(data, at);
        var chars = Encoding.UTF8.GetChars(data.Slice(at + 4, length), _chars.AsSpan(_charCount));
        at += 4 + length;
        var text = _chars.AsMemory(_charCount, chars);
        _charCount += chars;
        return text;
    }
}

/// <summary>One row of a caption table (the schema's source, and what <see cref="CaptionTable.ReadAsync"/> returns).</summary>
internal sealed class CaptionRow
{
    [JsonPropertyName("video_id")]
    public string VideoId { get; set; } = string.Empty;

    [JsonPropertyName("segments")]
    public List<SegmentRow> Segments { get; set; } = [];
}

/// <summary>One element of a row's segments list.</summary>
internal sealed class SegmentRow
{
    [JsonPropertyName("start")]
    public double Start { get; set; }

    [JsonPropertyName("end")]
    public double End { get; set; }

    [JsonPropertyName("text")]
    public string Text { get; set; } = string.Empty;

    [JsonPropertyName("token_ids")]
    public int[] TokenIds { get; set; } = [];
}
