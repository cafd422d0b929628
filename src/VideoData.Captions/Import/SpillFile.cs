using System.Runtime.InteropServices;
using System.Text;
using VideoData.Captions.Cleaning;

namespace VideoData.Captions.Import;

/// <summary>
/// A shard's cleaned videos between pass 2 and pass 3, in arrival order, in a compact binary form
/// (rank, id, then per segment start, end, text and token ids), so that memory holds at most one
/// shard at a time.
/// </summary>
internal sealed class SpillFile : IDisposable
{
    private readonly BinaryWriter _writer;

    public SpillFile(string path)
    {
        Path = path;
        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 14);
        _writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: false);
    }

    public string Path { get; }

    public int Count { get; private set; }

    public void Append(int rank, string videoId, IReadOnlyList<CaptionSegment> segments)
    {
        _writer.Write(rank);
        _writer.Write(videoId);
        _writer.Write(segments.Count);
        foreach (var segment in segments)
        {
            _writer.Write(segment.Start);
            _writer.Write(segment.End);
            _writer.Write(segment.Text);
            _writer.Write(segment.TokenIds.Length);

            // Native byte order: the file is read back by this process only.
            _writer.Write(MemoryMarshal.AsBytes(segment.TokenIds.AsSpan()));
        }

        Count++;
    }

    /// <summary>Closes the file and reads every video back, ordered by rank.</summary>
    public List<CaptionRow> ReadSorted()
    {
        _writer.Dispose();
        var rows = new List<CaptionRow>(Count);
        using (var reader = new BinaryReader(new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), Encoding.UTF8))
        {
            for (var i = 0; i < Count; i++)
            {
                var row = new CaptionRow { Rank = reader.ReadInt32(), VideoId = reader.ReadString() };
                var segmentCount = reader.ReadInt32();
                row.Segments = new List<SegmentRow>(segmentCount);
                for (var s = 0; s < segmentCount; s++)
                {
                    var segment = new SegmentRow { Start = reader.ReadDouble(), End = reader.ReadDouble(), Text = reader.ReadString() };
                    var tokens = new int[reader.ReadInt32()];
                    reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(tokens.AsSpan()));

                    segment.TokenIds = tokens;
                    row.Segments.Add(segment);
                }

                rows.Add(row);
            }
        }

        rows.Sort((left, right) => left.Rank.CompareTo(right.Rank));
        return rows;
    }

    public void Dispose()
    {
        _writer.Dispose();
        File.Delete(Path);
    }
}
