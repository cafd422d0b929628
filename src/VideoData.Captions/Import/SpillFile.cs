using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using VideoData.Captions.Cleaning;

namespace VideoData.Captions.Import;

/// <summary>
/// A shard's cleaned videos between pass 2 and pass 3, in arrival order, in a compact binary form,
/// so that memory holds at most one shard at a time.
/// </summary>
/// <remarks>
/// A record is the video's rank, its id, then per segment start, end, text and token ids (lengths
/// as int32, text as UTF-8, everything in native byte order: the file is read back by this process
/// only). <see cref="ReadAll"/> loads the whole file and orders the records by rank without
/// decoding them; <see cref="CaptionTable"/> turns them into columns.
/// </remarks>
internal sealed class SpillFile : IDisposable
{
    private readonly FileStream _stream;
    private byte[] _record = new byte[1 << 14];

    public SpillFile(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
    }

    public string Path { get; }

    public int Count { get; private set; }

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
        var at = 0;
        Put(buffer, ref at, rank);
        PutText(buffer, ref at, videoId);
        Put(buffer, ref at, segments.Count);
        foreach (var segment in segments)
        {
            Put(buffer, ref at, segment.Start);
            Put(buffer, ref at, segment.End);
            PutText(buffer, ref at, segment.Text);
            Put(buffer, ref at, segment.TokenIds.Length);
            MemoryMarshal.AsBytes(segment.TokenIds.AsSpan()).CopyTo(buffer[at..]);
            at += 4 * segment.TokenIds.Length;
        }

        _stream.Write(buffer[..at]);
        Count++;
    }

    /// <summary>
    /// Reads every record into <paramref name="buffer"/> (grown when too small, so one buffer serves
    /// every shard) and returns them ordered by rank.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public SpilledShard ReadAll(ref byte[] buffer)
    {
        _stream.Flush();
        var length = checked((int)_stream.Length);
        if (buffer.Length < length)
        {
            buffer = new byte[Math.Max(length, buffer.Length + (buffer.Length / 2))];
        }

        _stream.Position = 0;
        _stream.ReadExactly(buffer, 0, length);
        var ranks = new int[Count];
        var offsets = new int[Count];
        var data = buffer.AsSpan(0, length);
        var at = 0;
        for (var i = 0; i < Count; i++)
        {
            offsets[i] = at;
            ranks[i] = MemoryMarshal.Read<int>(data[at..]);
            at = SpilledShard.SkipRecord(data, at);
        }

        if (at != length)
        {
            throw new InvalidDataException($"Spill file '{Path}' holds {length} bytes, its {Count} records {at}.");
        }

        Array.Sort(ranks, offsets);
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

/// <summary>The records of one spill file, in rank order: offsets into <see cref="Data"/>.</summary>
internal readonly record struct SpilledShard(byte[] Data, int[] Offsets)
{
    /// <summary>Offset just past the record at <paramref name="at"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int SkipRecord(ReadOnlySpan<byte> data, int at)
    {
        at += 4;
        at += 4 + MemoryMarshal.Read<int>(data[at..]);
        var segments = MemoryMarshal.Read<int>(data[at..]);
        at += 4;
        for (var s = 0; s < segments; s++)
        {
            at += 16;
            at += 4 + MemoryMarshal.Read<int>(data[at..]);
            at += 4 + (4 * MemoryMarshal.Read<int>(data[at..]));
        }

        return at;
    }
}
