using System.Buffers.Binary;
using System.Text.Json;

namespace VideoData.Features.Weights;

/// <summary>
/// Reads the safetensors format: an 8-byte little-endian header length N, N bytes of JSON
/// mapping each key to {dtype, shape, data_offsets:[begin,end)} relative to the byte after the
/// header (plus an optional <c>__metadata__</c> string map), then the tensor bytes.
/// Bounds: the header fits the file and 100 MB; every tensor's offsets lie in the data section, match its dtype and
/// shape (element counts that overflow 64 bits are refused), and do not overlap; the tensor bytes together stay within
/// the caller's budget. All are checked before the bytes are allocated.
/// </summary>
internal static class SafetensorsReader
{
    // The format's own reference implementation refuses headers over 100 MB.
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    public static StateDict Read(string path, long maxBytes = WeightsFile.DefaultMaxBytes)
    {
        using var stream = File.OpenRead(path);
        return new StateDict(path, "safetensors", ReadTensors(stream, path, maxBytes));
    }

    public static List<WeightTensor> ReadTensors(Stream stream, string name, long maxBytes = WeightsFile.DefaultMaxBytes)
    {
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
        {
            throw new InvalidDataException($"Safetensors file '{name}' is shorter than its 8-byte header length.");
        }

        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
        var total = stream.CanSeek ? stream.Length : long.MaxValue;
        if (headerLength <= 1 || headerLength > MaxHeaderBytes || 8 + headerLength > total)
        {
            throw new InvalidDataException($"Safetensors file '{name}' declares a header of {headerLength} bytes, which does not fit the file ({total} bytes); it is not a safetensors file or it is truncated.");
        }

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var dataStart = 8 + headerLength;
        var dataLength = total - dataStart;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Safetensors file '{name}' has a header that is not valid JSON: {ex.Message}", ex);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"Safetensors file '{name}' has a header that is not a JSON object.");
            }

            var entries = new List<(string Key, WeightDType DType, long[] Shape, long Begin, long End)>();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    continue;
                }

                entries.Add(ParseEntry(property, name, dataLength));
            }

            var declared = entries.Sum(e => e.End - e.Begin);
            if (declared > maxBytes)
            {
                throw new InvalidDataException($"Safetensors file '{name}' declares {declared} bytes of tensors, over the budget of {maxBytes} bytes.");
            }

            // Read in file order so a non-seekable stream still works.
            entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
            var tensors = new List<WeightTensor>(entries.Count);
            long position = 0;
            foreach (var (key, dtype, shape, begin, end) in entries)
            {
                if (begin < position)
                {
                    throw new InvalidDataException($"Safetensors file '{name}': tensor '{key}' overlaps the tensor before it (offset {begin} < {position}).");
                }

                Skip(stream, begin - position, name);
                var data = new byte[end - begin];
                var read = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
                if (read < data.Length)
                {
                    throw new InvalidDataException($"Safetensors file '{name}' is truncated inside tensor '{key}'.");
                }

                position = end;
                tensors.Add(new WeightTensor(key, dtype, shape, data));
            }

            return tensors;
        }
    }

    private static (string Key, WeightDType DType, long[] Shape, long Begin, long End) ParseEntry(JsonProperty property, string name, long dataLength)
    {
        var key = property.Name;
        var value = property.Value;
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2)
        {
            throw new InvalidDataException($"Safetensors file '{name}': entry '{key}' lacks dtype, shape or data_offsets.");
        }

        var dtype = dtypeElement.GetString() switch
        {
            "F32" => WeightDType.Float32,
            "F16" => WeightDType.Float16,
            "BF16" => WeightDType.BFloat16,
            "F64" => WeightDType.Float64,
            "I64" => WeightDType.Int64,
            "I32" => WeightDType.Int32,
            "U8" => WeightDType.UInt8,
            "BOOL" => WeightDType.Bool,
            var other => throw new InvalidDataException($"Safetensors file '{name}': tensor '{key}' has unsupported dtype '{other}'."),
        };
        if (shapeElement.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out _))
            || offsetsElement.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out _)))
        {
            throw new InvalidDataException($"Safetensors file '{name}': tensor '{key}' has a shape or data_offsets that are not 64-bit integers.");
        }

        var shape = shapeElement.EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var begin = offsetsElement[0].GetInt64();
        var end = offsetsElement[1].GetInt64();
        long expected;
        try
        {
            expected = checked(WeightTensor.NumElements(shape) * dtype.ElementSize());
        }
        catch (Exception ex) when (ex is OverflowException or InvalidDataException)
        {
            throw new InvalidDataException($"Safetensors file '{name}': tensor '{key}' has shape [{string.Join(", ", shape)}], which is negative or too large to exist.", ex);
        }

        if (begin < 0 || end < begin || end > dataLength || end - begin != expected)
        {
            throw new InvalidDataException($"Safetensors file '{name}': tensor '{key}' [{string.Join(", ", shape)}] {dtype} has offsets [{begin}, {end}) but needs {expected} bytes within {dataLength} data bytes; the file is corrupt or truncated.");
        }

        return (key, dtype, shape, begin, end);
    }

    private static void Skip(Stream stream, long count, string name)
    {
        if (count == 0)
        {
            return;
        }

        if (stream.CanSeek)
        {
            stream.Seek(count, SeekOrigin.Current);
            return;
        }

        var buffer = new byte[Math.Min(count, 81920)];
        while (count > 0)
        {
            var n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (n == 0)
            {
                throw new InvalidDataException($"Safetensors file '{name}' is truncated.");
            }

            count -= n;
        }
    }
}
