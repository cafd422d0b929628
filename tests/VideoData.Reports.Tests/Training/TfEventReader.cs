using System.Buffers.Binary;
using System.Text;

namespace VideoData.Reports.Tests.Training;

/// <summary>
/// An independent reader of TensorBoard event files, written from the published formats (not TorchSharp's code): TFRecord
/// framing (length, masked CRC-32C of the length, payload, masked CRC-32C of the payload) around <c>tensorflow.Event</c>
/// protobuf messages, of which it decodes step, file_version and summary values with simple_value.
/// </summary>
internal static class TfEventReader
{
    public sealed record Scalar(string Tag, long Step, float Value);

    /// <summary>Reads every record; throws <see cref="InvalidDataException"/> on a bad CRC or truncated record.</summary>
    public static (string? FileVersion, List<Scalar> Scalars) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var scalars = new List<Scalar>();
        string? version = null;
        var offset = 0;
        while (offset < bytes.Length)
        {
            if (offset + 12 > bytes.Length)
            {
                throw new InvalidDataException($"{path}: truncated record header at {offset}.");
            }

            var length = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(offset));
            Check(bytes.AsSpan(offset, 8), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 8)), path, "length");
            offset += 12;
            if (offset + (long)length + 4 > bytes.Length)
            {
                throw new InvalidDataException($"{path}: truncated record at {offset}.");
            }

            var payload = bytes.AsSpan(offset, (int)length);
            Check(payload, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + (int)length)), path, "payload");
            offset += (int)length + 4;

            long step = 0;
            var values = new List<(string, float)>();
            foreach (var (field, wire, value, data) in Fields(payload.ToArray()))
            {
                if (field == 2 && wire == 0)
                {
                    step = (long)value;
                }
                else if (field == 3 && wire == 2)
                {
                    version = Encoding.UTF8.GetString(data!);
                }
                else if (field == 5 && wire == 2)
                {
                    foreach (var (f, w, _, item) in Fields(data!))
                    {
                        if (f == 1 && w == 2)
                        {
                            string? tag = null;
                            float? simple = null;
                            foreach (var (vf, vw, vv, vd) in Fields(item!))
                            {
                                if (vf == 1 && vw == 2)
                                {
                                    tag = Encoding.UTF8.GetString(vd!);
                                }
                                else if (vf == 2 && vw == 5)
                                {
                                    simple = BitConverter.Int32BitsToSingle((int)vv);
                                }
                            }

                            if (tag is not null && simple is not null)
                            {
                                values.Add((tag, simple.Value));
                            }
                        }
                    }
                }
            }

            scalars.AddRange(values.Select(v => new Scalar(v.Item1, step, v.Item2)));
        }

        return (version, scalars);
    }

    private static IEnumerable<(int Field, int Wire, ulong Value, byte[]? Data)> Fields(byte[] message)
    {
        var i = 0;
        while (i < message.Length)
        {
            var key = Varint(message, ref i);
            var field = (int)(key >> 3);
            var wire = (int)(key & 7);
            switch (wire)
            {
                case 0:
                    yield return (field, wire, Varint(message, ref i), null);
                    break;
                case 1:
                    yield return (field, wire, BinaryPrimitives.ReadUInt64LittleEndian(message.AsSpan(i)), null);
                    i += 8;
                    break;
                case 2:
                    var length = (int)Varint(message, ref i);
                    yield return (field, wire, 0, message.AsSpan(i, length).ToArray());
                    i += length;
                    break;
                case 5:
                    yield return (field, wire, BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(i)), null);
                    i += 4;
                    break;
                default:
                    throw new InvalidDataException($"protobuf wire type {wire} is not expected in an event.");
            }
        }
    }

    private static ulong Varint(byte[] data, ref int i)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = data[i++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
    }

    private static void Check(ReadOnlySpan<byte> data, uint masked, string path, string what)
    {
        var crc = Crc32C(data);
        var expected = unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
        if (expected != masked)
        {
            throw new InvalidDataException($"{path}: the {what} CRC does not match (0x{masked:x8} stored, 0x{expected:x8} computed).");
        }
    }

    /// <summary>CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit: slow and obviously right.</summary>
    internal static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        return ~crc;
    }
}
