using System.Buffers.Binary;
using System.Text;

namespace VideoData.Testing.Videos;

/// <summary>Small edits of ISO BMFF (MP4) files for building awkward test inputs.</summary>
public static class Mp4Boxes
{
    /// <summary>The offset and size of the first box of the given four-character type (searched by bytes).</summary>
    public static (int Offset, int Size) Find(byte[] file, string type)
    {
        ArgumentNullException.ThrowIfNull(file);
        var at = file.AsSpan().IndexOf(Encoding.ASCII.GetBytes(type));
        if (at < 4)
        {
            throw new InvalidDataException($"No '{type}' box in the file.");
        }

        return (at - 4, (int)BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at - 4)));
    }

    /// <summary>
    /// Writes a display matrix rotating the (single) video track clockwise by a multiple of 90°
    /// into its version-0 tkhd box; returns the edited copy.
    /// </summary>
    public static byte[] SetTrackMatrix(byte[] file, int degrees)
    {
        ArgumentNullException.ThrowIfNull(file);
        var (a, b, c, d) = degrees switch
        {
            0 => (1, 0, 0, 1),
            90 => (0, 1, -1, 0),
            180 => (-1, 0, 0, -1),
            270 => (0, -1, 1, 0),
            _ => throw new ArgumentOutOfRangeException(nameof(degrees), degrees, "Only 0, 90, 180 and 270 are supported."),
        };
        var copy = (byte[])file.Clone();
        var (tkhd, _) = Find(copy, "tkhd");
        if (copy[tkhd + 8] != 0)
        {
            throw new InvalidDataException("Only version-0 tkhd boxes are supported.");
        }

        // size, type, version/flags, creation, modification, track id, reserved, duration,
        // reserved[2], layer, alternate group, volume, reserved: the matrix starts 48 bytes in.
        var matrix = copy.AsSpan(tkhd + 48, 36);
        int[] values = [a << 16, b << 16, 0, c << 16, d << 16, 0, 0, 0, 0x40000000];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(matrix[(i * 4)..], values[i]);
        }

        return copy;
    }
}
