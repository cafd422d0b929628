using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace VideoData.Features.Weights;

/// <summary>
/// Writes a state dict (tensors by name) in the two formats <see cref="WeightsFile"/> reads: a PyTorch zip-format
/// <c>.pth</c> that <c>torch.load</c> returns as an <c>OrderedDict</c> of tensors (ready for
/// <c>module.load_state_dict</c>), and safetensors. Names, dtypes, shapes and bytes are written exactly as given, in
/// the given order. Each file is written under a temporary name, flushed to disk and renamed, so a reader sees the
/// old file or the whole new one.
/// </summary>
public static class StateDictWriter
{
    /// <summary>
    /// Writes <paramref name="tensors"/> as <c>torch.save(state_dict)</c> does (PyTorch ≥ 1.6 zip format, pickle protocol 2):
    /// <c>archive/data.pkl</c> holds an <c>OrderedDict</c> whose values are <c>torch._utils._rebuild_tensor_v2</c> calls on
    /// one storage each (<c>archive/data/0</c>, …), plus <c>archive/byteorder</c> (little) and <c>archive/version</c> (3).
    /// It uses only globals that <c>torch.load(weights_only=True)</c> accepts.
    /// </summary>
    /// <exception cref="ArgumentException">Two tensors share a name.</exception>
    public static void WritePth(string path, IReadOnlyList<WeightTensor> tensors)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        EnsureDistinct(tensors);
        WriteAtomically(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            // Stored, not deflated: torch reads stored records in place, as torch.save writes them.
            Add(zip, "archive/data.pkl", Pickle(tensors));
            Add(zip, "archive/byteorder", "little"u8.ToArray());
            for (var i = 0; i < tensors.Count; i++)
            {
                Add(zip, $"archive/data/{i}", tensors[i].Data);
            }

            Add(zip, "archive/version", "3\n"u8.ToArray());
        });
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> as safetensors: an 8-byte little-endian header length, the JSON header (each name's
    /// dtype, shape and <c>data_offsets</c>, plus <paramref name="metadata"/> as <c>__metadata__</c>), padded with spaces to
    /// a multiple of 8 bytes, then the tensors' bytes in order.
    /// </summary>
    /// <exception cref="ArgumentException">Two tensors share a name, or one is named <c>__metadata__</c>.</exception>
    public static void WriteSafetensors(string path, IReadOnlyList<WeightTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        EnsureDistinct(tensors);
        if (tensors.Any(t => t.Name == "__metadata__"))
        {
            throw new ArgumentException("A tensor named '__metadata__' cannot be written to safetensors (the name is the format's metadata key).", nameof(tensors));
        }

        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var t in tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.ToSafetensorsName());
                json.WriteStartArray("shape");
                foreach (var d in t.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + t.Data.LongLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += t.Data.LongLength;
            }

            json.WriteEndObject();
        }

        // The format asks for the data to start 8-byte aligned; spaces are valid JSON padding.
        while (header.Length % 8 != 0)
        {
            header.WriteByte((byte)' ');
        }

        WriteAtomically(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(length, header.Length);
            stream.Write(length);
            header.Position = 0;
            header.CopyTo(stream);
            foreach (var t in tensors)
            {
                stream.Write(t.Data);
            }
        });
    }

    private static void EnsureDistinct(IReadOnlyList<WeightTensor> tensors)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(tensors));
            if (!seen.Add(t.Name))
            {
                throw new ArgumentException($"The state dict names '{t.Name}' twice.", nameof(tensors));
            }
        }
    }

    private static void Add(ZipArchive zip, string name, byte[] data)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        using var s = entry.Open();
        s.Write(data);
    }

    // Flushed to disk, then renamed over the target (OutputFile: the one write-then-rename primitive).
    private static void WriteAtomically(string path, Action<Stream> write) => VideoData.Core.IO.OutputFile.Write(path, write);

    /// <summary>The pickle of the state dict: protocol 2, as <c>torch.save</c> writes it, without the memo (readers do not need it).</summary>
    private static byte[] Pickle(IReadOnlyList<WeightTensor> tensors)
    {
        var p = new PickleBuilder();
        p.Proto(2);
        p.Global("collections", "OrderedDict");
        p.Op(')'); // EMPTY_TUPLE
        p.Op('R'); // REDUCE: OrderedDict()
        p.Op('(');
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            p.Unicode(t.Name);
            p.Global("torch._utils", "_rebuild_tensor_v2");
            p.Op('(');
            {
                // The storage, by persistent id: ('storage', torch.FloatStorage, key, location, numel).
                p.Op('(');
                p.Unicode("storage");
                p.Global("torch", StorageName(t.DType));
                p.Unicode(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                p.Unicode("cpu");
                p.Int(t.ElementCount);
                p.Op('t');
                p.Op('Q'); // BINPERSID
                p.Int(0); // storage offset
                p.Tuple(t.Shape);
                p.Tuple(ContiguousStrides(t.Shape));
                p.Op((char)0x89); // NEWFALSE: requires_grad
                p.Global("collections", "OrderedDict"); // backward hooks
                p.Op(')');
                p.Op('R');
            }

            p.Op('t');
            p.Op('R');
        }

        p.Op('u'); // SETITEMS
        p.Op('.'); // STOP
        return p.ToArray();
    }

    private static long[] ContiguousStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long step = 1;
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = step;
            step *= Math.Max(1, shape[d]);
        }

        return strides;
    }

    private static string StorageName(WeightDType dtype) => dtype switch
    {
        WeightDType.Float32 => "FloatStorage",
        WeightDType.Float16 => "HalfStorage",
        WeightDType.BFloat16 => "BFloat16Storage",
        WeightDType.Float64 => "DoubleStorage",
        WeightDType.Int64 => "LongStorage",
        WeightDType.Int32 => "IntStorage",
        WeightDType.UInt8 => "ByteStorage",
        WeightDType.Bool => "BoolStorage",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown weight dtype."),
    };

    private sealed class PickleBuilder
    {
        private readonly MemoryStream _bytes = new();

        public void Op(char code) => _bytes.WriteByte((byte)code);

        public void Proto(byte version)
        {
            _bytes.WriteByte(0x80);
            _bytes.WriteByte(version);
        }

        public void Global(string module, string name)
        {
            Op('c');
            _bytes.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        }

        public void Unicode(string text)
        {
            var utf8 = Encoding.UTF8.GetBytes(text);
            Op('X');
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)utf8.Length);
            _bytes.Write(length);
            _bytes.Write(utf8);
        }

        public void Int(long value)
        {
            if (value is >= int.MinValue and <= int.MaxValue)
            {
                Op('J'); // BININT, 4-byte signed
                Span<byte> four = stackalloc byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(four, (int)value);
                _bytes.Write(four);
                return;
            }

            _bytes.WriteByte(0x8a); // LONG1: length byte, then little-endian two's complement
            _bytes.WriteByte(8);
            Span<byte> eight = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(eight, value);
            _bytes.Write(eight);
        }

        public void Tuple(long[] items)
        {
            if (items.Length == 0)
            {
                Op(')');
                return;
            }

            Op('(');
            foreach (var item in items)
            {
                Int(item);
            }

            Op('t');
        }

        public byte[] ToArray() => _bytes.ToArray();
    }
}
