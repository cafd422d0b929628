using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using VideoData.Captions.Cleaning;
using VideoData.Captions.Tokenization;
using VideoData.Shards;

namespace VideoData.Captions.Import;

/// <summary>
/// A shard's cleaned videos between pass 2 and pass 3, in arrival order, in a compact binary form,
/// so that memory holds at most one shard at a time.
/// </summary>
/// <remarks>
/// A record is the video's rank, its id, then per segment start, end, text and token ids (lengths
/// as int32, text as UTF-8, everything in native byte order: the file is read back by this process
/// only). The position of every record is kept in memory (16 bytes a video), so pass 3 reads the
/// records of one row group at a time in rank order without decoding them;
/// <see cref="CaptionColumns"/> turns them into columns.
/// </remarks>
internal sealed class SpillFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly List<(int Rank, long Position, int Length)> _index = [];
    private byte[] _record = new byte[1 << 14];
    private long _length;

    public SpillFile(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
    }

    public string Path { get; }

    public int Count => _index.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Append(int rank, string videoId, IReadOnlyList<CaptionSegment> segments)
    {
        var size = 12 + Encoding.UTF8.GetMaxByteCount(videoId.Length);
        foreach (var segment in segments)
        {
            size += 24 + Encoding.UTF8.GetMaxByteCount(segment.Text.Length) + (4 * segment.TokenIds.Length);
        }

        if (size > _record.Length)
        {
            _record = new byte[Math.Max(size, _record.Length * 2)];
        }

        var buffer = _record.AsSpan();
        var at = PutHeader(buffer, rank, videoId, segments.Count);
        foreach (var segment in segments)
        {
            PutTimedText(buffer, ref at, segment.Start, segment.End, segment.Text);
            Put(buffer, ref at, segment.TokenIds.Length);
            MemoryMarshal.AsBytes(segment.TokenIds.AsSpan()).CopyTo(buffer[at..]);
            at += 4 * segment.TokenIds.Length;
        }

        _stream.Write(buffer[..at]);
        _index.Add((rank, _length, at));
        _length += at;
    }

    /// <summary>
    /// Encodes a cleaned video as a record, tokenizing its segments on the way, into an array rented
    /// from <see cref="ArrayPool{T}.Shared"/> (for <see cref="AppendRecord"/>, which returns it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (byte[] Record, int Length) Encode(int rank, string videoId, List<TimedText> segments, BertWordPieceTokenizer tokenizer)
    {
        var size = 12 + Encoding.UTF8.GetMaxByteCount(videoId.Length);
        foreach (var segment in segments)
        {
            size += 24 + Encoding.UTF8.GetMaxByteCount(segment.Text.Length) + (4 * BertWordPieceTokenizer.SegmentMaxTokens);
        }

        var record = ArrayPool<byte>.Shared.Rent(size);
        var buffer = record.AsSpan();
        var at = PutHeader(buffer, rank, videoId, segments.Count);
        foreach (var segment in segments)
        {
            PutTimedText(buffer, ref at, segment.Start, segment.End, segment.Text);
            var tokens = tokenizer.EncodeSegment(segment.Text, MemoryMarshal.Cast<byte, int>(buffer[(at + 4)..]));
            Put(buffer, ref at, tokens);
            at += 4 * tokens;
        }

        return (record, at);
    }

    // The record layout shared by Append and Encode: rank, id, segment count; per segment start, end, text
    // (each followed by the token count and ids, which the two write from different sources).
    private static int PutHeader(Span<byte> buffer, int rank, string videoId, int segments)
    {
        var at = 0;
        Put(buffer, ref at, rank);
        PutText(buffer, ref at, videoId);
        Put(buffer, ref at, segments);
        return at;
    }

    private static void PutTimedText(Span<byte> buffer, ref int at, double start, double end, string text)
    {
        Put(buffer, ref at, start);
        Put(buffer, ref at, end);
        PutText(buffer, ref at, text);
    }

    /// <summary>Appends a record made by <see cref="Encode"/> and returns its array to the pool.</summary>
    public void AppendRecord(byte[] record, int length)
    {
        _stream.Write(record, 0, length);
        _index.Add((MemoryMarshal.Read<int>(record), _length, length));
        _length += length;
        ArrayPool<byte>.Shared.Return(record);
    }

    /// <summary>Orders the records by rank (call once, after the last <see cref="Append"/>).</summary>
    public void SortByRank()
    {
        _stream.Flush();
        _index.Sort((left, right) => left.Rank.CompareTo(right.Rank));
    }

    /// <summary>
    /// Reads records <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/>
    /// in rank order into <paramref name="buffer"/> (grown when too small, so one buffer serves every
    /// row group), one positioned read each: memory holds one row group's records, not the shard's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public SpilledShard ReadRows(int first, int count, ref byte[] buffer)
    {
        long bytes = 0;
        for (var i = first; i < first + count; i++)
        {
            bytes += _index[i].Length;
        }

        if (buffer.Length < bytes)
        {
            buffer = new byte[checked((int)Math.Max(bytes, buffer.Length + (buffer.Length / 2)))];
        }

        var offsets = new int[count];
        var at = 0;
        for (var i = 0; i < count; i++)
        {
            var (_, position, length) = _index[first + i];
            offsets[i] = at;
            if (RandomAccess.Read(_stream.SafeFileHandle, buffer.AsSpan(at, length), position) != length)
            {
                throw new InvalidDataException($"Spill file '{Path}' ends inside a record at byte {position}.");
            }

            at += length;
        }

        return new SpilledShard(buffer, offsets);
    }

    public void Dispose()
    {
        _stream.Dispose();
        File.Delete(Path);
    }

    private static void Put<T>(Span<byte> buffer, ref int at, T value)
        where T : unmanaged
    {
        MemoryMarshal.Write(buffer[at..], in value);
        at += Unsafe.SizeOf<T>();
    }

    private static void PutText(Span<byte> buffer, ref int at, string text)
    {
        var length = Encoding.UTF8.GetBytes(text, buffer[(at + 4)..]);
        MemoryMarshal.Write(buffer[at..], in length);
        at += 4 + length;
    }
}

/// <summary>Spilled records in rank order: their offsets into <see cref="Data"/>.</summary>
internal readonly record struct SpilledShard(byte[] Data, int[] Offsets);
