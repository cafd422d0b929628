using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using CommunityToolkit.HighPerformance;
using VideoData.Core.IO;
using VideoData.Shards;

namespace VideoData.Training.Data;

/// <summary>
/// One decoded video per local file: a little-endian header (magic, dim, rows, segment count), the features
/// as raw float32, then per segment start, end (float64), token count and token ids (int32). Files are
/// published by rename, so a reader never sees half of one.
/// </summary>
internal static class DiskCache
{
    private const uint Magic = 0x31435644; // "DVC1"

    public static async Task<string> WriteAsync(string folder, VideoRecord video, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var name = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(video.VideoId)))[..32].ToLowerInvariant();
        var path = Path.Combine(folder, name + ".video");

        // A cache: no flush to disk (a machine crash loses it, and it is rebuilt), but never half a file under its name.
        await OutputFile.WriteAsync(path, async (stream, cancellationToken) =>
        {
            var header = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), video.FeatureDim);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), video.Seconds);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), video.Segments.Count);
            await stream.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(video.Features.AsMemory().Cast<float, byte>(), cancellationToken).ConfigureAwait(false);
            foreach (var segment in video.Segments)
            {
                var bytes = new byte[20 + (4 * segment.TokenIds.Length)];
                BinaryPrimitives.WriteDoubleLittleEndian(bytes, segment.Start);
                BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8), segment.End);
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), segment.TokenIds.Length);
                MemoryMarshal.AsBytes(segment.TokenIds.AsSpan()).CopyTo(bytes.AsSpan(20));
                await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            }
        }, flushToDisk: false, cancellationToken).ConfigureAwait(false);
        return path;
    }

    public static async Task<VideoRecord> ReadAsync(string path, string videoId, CancellationToken cancellationToken)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                // The features go from the file straight into their array; the small tail (segments) through a buffer.
                var header = new byte[16];
                await stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
                if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
                {
                    throw new InvalidDataException("bad magic");
                }

                var dim = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4));
                var rows = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8));
                var count = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12));
                var values = (long)rows * dim;
                if (dim < 1 || rows < 0 || count < 0 || values > Array.MaxLength || 16 + (values * sizeof(float)) > stream.Length)
                {
                    throw new InvalidDataException($"header gives {rows}×{dim} features and {count} segments for a {stream.Length}-byte file");
                }

                var features = GC.AllocateUninitializedArray<float>((int)values);
                await stream.ReadExactlyAsync(features.AsMemory().Cast<float, byte>(), cancellationToken).ConfigureAwait(false);
                var rest = new byte[stream.Length - stream.Position];
                await stream.ReadExactlyAsync(rest, cancellationToken).ConfigureAwait(false);
                var offset = 0;
                var segments = new CaptionSegment[count];
                for (var i = 0; i < count; i++)
                {
                    var start = BinaryPrimitives.ReadDoubleLittleEndian(rest.AsSpan(offset));
                    var end = BinaryPrimitives.ReadDoubleLittleEndian(rest.AsSpan(offset + 8));
                    var n = BinaryPrimitives.ReadInt32LittleEndian(rest.AsSpan(offset + 16));
                    segments[i] = new CaptionSegment(start, end, MemoryMarshal.Cast<byte, int>(rest.AsSpan(offset + 20, n * 4)).ToArray());
                    offset += 20 + (n * 4);
                }

                return new VideoRecord(videoId, dim, features, segments);
            }
            catch (Exception ex) when (ex is ArgumentOutOfRangeException or InvalidDataException or IndexOutOfRangeException or EndOfStreamException)
            {
                throw new InvalidDataException($"Disk cache file '{path}' of video '{videoId}' is damaged: {ex.Message}", ex);
            }
        }
    }
}
