using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using VideoData.Features.Weights;
using VideoData.Testing;

namespace VideoData.Features.Tests.Weights;

public sealed class WeightsFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vd-weights-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string S3dDir => Environment.GetEnvironmentVariable("S3D_PARITY_DIR") ?? RepoPaths.RequireSharedTestData("s3d");

    [Fact]
    public void Load_Safetensors_ReadsEveryTensorWithShapes()
    {
        var weights = WeightsFile.Load(Path.Combine(S3dDir, "s3d_weights.safetensors"));

        Assert.Equal("safetensors", weights.Format);
        Assert.Equal(532, weights.Count);
        // The README counts trainable parameters: everything but BatchNorm's running statistics.
        Assert.Equal(9_670_800, weights.Values.Where(t => !t.Name.Contains(".running_", StringComparison.Ordinal) && t.DType == WeightDType.Float32).Sum(t => t.ElementCount));
        Assert.Equal(new long[] { 64, 24, 2, 4, 4 }, weights["conv1.conv1.weight"].Shape);
        Assert.Equal(WeightDType.Int64, weights["conv1.bn1.num_batches_tracked"].DType);
        Assert.Empty(weights["conv1.bn1.num_batches_tracked"].Shape);
        Assert.Equal(new long[] { 512, 1024 }, weights["fc.weight"].Shape);
        Assert.Matches("^[0-9a-f]{64}$", weights.Sha256);
    }

    [Fact]
    public void Load_Pth_EqualsSafetensorsTensorForTensorAndHash()
    {
        var st = WeightsFile.Load(Path.Combine(S3dDir, "s3d_weights.safetensors"));
        var pth = WeightsFile.Load(Path.Combine(S3dDir, "s3d_weights.pth"));

        Assert.Equal("pytorch-zip", pth.Format);
        Assert.Equal(st.Keys.Order(StringComparer.Ordinal), pth.Keys.Order(StringComparer.Ordinal));
        foreach (var t in st.Values)
        {
            var p = pth[t.Name];
            Assert.Equal(t.DType, p.DType);
            Assert.Equal(t.Shape, p.Shape);
            Assert.True(t.Data.AsSpan().SequenceEqual(p.Data), $"bytes of '{t.Name}' differ");
        }

        Assert.Equal(st.Sha256, pth.Sha256);
    }

    [Fact]
    public void Load_HandWrittenPth_RebuildsHalfLongAndStridedViews()
    {
        // Storage "0": six float16 values 0..5 viewed as a 2x3 tensor and as its 3x2 transpose
        // (stride (1,3)) starting at offset 0; storage "1": one int64.
        var half = new byte[12];
        for (var i = 0; i < 6; i++)
        {
            BinaryPrimitives.WriteHalfLittleEndian(half.AsSpan(i * 2), (Half)i);
        }

        var pickle = new PickleBuilder()
            .Proto().Global("collections", "OrderedDict").EmptyTuple().Reduce()
            .Mark()
            .Str("a").Tensor("HalfStorage", "0", 6, offset: 0, shape: [2, 3], stride: [3, 1])
            .Str("a_t").Tensor("HalfStorage", "0", 6, offset: 0, shape: [3, 2], stride: [1, 3])
            .Str("n").Tensor("LongStorage", "1", 1, offset: 0, shape: [], stride: [])
            .SetItems().Stop();
        var path = WriteZip("tiny.pth", ("tiny/data.pkl", pickle), ("tiny/data/0", half), ("tiny/data/1", BitConverter.GetBytes(42L)), ("tiny/byteorder", "little"u8.ToArray()));

        var weights = WeightsFile.Load(path);

        Assert.Equal(["a", "a_t", "n"], weights.Keys);
        Assert.Equal(half, weights["a"].Data);
        var transposed = Enumerable.Range(0, 6).Select(i => (float)BinaryPrimitives.ReadHalfLittleEndian(weights["a_t"].Data.AsSpan(i * 2))).ToArray();
        Assert.Equal([0f, 3f, 1f, 4f, 2f, 5f], transposed);
        Assert.Equal(42L, BitConverter.ToInt64(weights["n"].Data));
        Assert.Equal(WeightDType.Float16, weights["a_t"].DType);
    }

    [Fact]
    public void Load_PthCallingUnknownGlobal_RefusesNamingIt()
    {
        var pickle = new PickleBuilder().Proto().Global("os", "system").Str("echo hi").Tuple1().Reduce().Stop();
        var path = WriteZip("evil.pth", ("evil/data.pkl", pickle));

        var ex = Assert.Throws<InvalidDataException>(() => WeightsFile.Load(path));

        Assert.Contains("os.system", ex.Message);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Load_LegacyPth_ExplainsHowToConvert()
    {
        var path = Path.Combine(_dir, "legacy.pth");
        File.WriteAllBytes(path, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);

        var ex = Assert.Throws<InvalidDataException>(() => WeightsFile.Load(path));

        Assert.Contains("legacy", ex.Message);
        Assert.Contains("torch.save", ex.Message);
    }

    [Fact]
    public void Load_TruncatedPth_FailsNamingTheFile()
    {
        var source = File.ReadAllBytes(Path.Combine(S3dDir, "s3d_weights.pth"));
        var path = Path.Combine(_dir, "truncated.pth");
        File.WriteAllBytes(path, source.AsSpan(0, source.Length / 2).ToArray());

        var ex = Assert.Throws<InvalidDataException>(() => WeightsFile.Load(path));

        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Load_TruncatedSafetensors_FailsNamingTheFile()
    {
        var source = File.ReadAllBytes(Path.Combine(S3dDir, "s3d_weights.safetensors"));
        var path = Path.Combine(_dir, "truncated.safetensors");
        File.WriteAllBytes(path, source.AsSpan(0, source.Length - 1000).ToArray());

        var ex = Assert.Throws<InvalidDataException>(() => WeightsFile.Load(path));

        Assert.Contains(path, ex.Message);
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void Load_NotAWeightsFile_SaysSo()
    {
        var path = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(path, "hello, these are not weights");

        var ex = Assert.Throws<InvalidDataException>(() => WeightsFile.Load(path));

        Assert.Contains("neither safetensors nor a PyTorch zip", ex.Message);
    }

    [Theory]
    [InlineData("big/data/0")]
    [InlineData("big/data.pkl")]
    public void Load_PthEntryDeclaringHugeSize_RefusedBeforeAllocating(string patched)
    {
        var path = TinyPth("big", shape: [2, 3], stride: [3, 1]);
        var bytes = File.ReadAllBytes(path);
        PatchZipSizes(bytes, patched, uncompressed: 0x7FFF_FFF0);
        File.WriteAllBytes(path, bytes);

        var (ex, allocated) = LoadFailing(path);

        Assert.Contains(path, ex.Message);
        Assert.Contains("cannot hold", ex.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Load_PthOverTheBudget_RefusedNamingTheBudget()
    {
        var path = Path.Combine(S3dDir, "s3d_weights.pth");

        var ex = Assert.Throws<InvalidDataException>(() => WeightsFile.Load(path, maxBytes: 1 << 20));

        Assert.Contains(path, ex.Message);
        Assert.Contains("budget", ex.Message);
    }

    [Theory]
    [InlineData(1L << 40, 1L << 40, "too large to exist")]
    [InlineData(1L << 20, 1L << 20, "budget")]
    public void Load_PthTensorWithHugeShapeOverItsStorage_RefusedBeforeAllocating(long rows, long columns, string expected)
    {
        // Stride 0 keeps the view inside its 6-element storage, so only the element count can stop it.
        var path = TinyPth("huge", shape: [rows, columns], stride: [0, 0]);

        var (ex, allocated) = LoadFailing(path);

        Assert.Contains(path, ex.Message);
        Assert.Contains(expected, ex.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Load_PthShapeReachingPastItsStorage_RefusedBeforeAllocating()
    {
        var path = TinyPth("past", shape: [1L << 30, 4], stride: [4, 1]);

        var (ex, allocated) = LoadFailing(path);

        Assert.Contains("reaches element", ex.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [Theory]
    [InlineData("../../etc/passwd", "invalid storage key")]
    [InlineData("..", "invalid storage key")]
    [InlineData("7", "lacks storage entry")]
    public void Load_PthStorageKeyOutsideTheArchive_Refused(string key, string expected)
    {
        var pickle = new PickleBuilder()
            .Proto().Global("collections", "OrderedDict").EmptyTuple().Reduce()
            .Mark().Str("w").Tensor("FloatStorage", key, 6, offset: 0, shape: [6], stride: [1]).SetItems().Stop();
        var path = WriteZip($"key{key.Length}.pth", ("key/data.pkl", pickle), ("key/data/0", new byte[24]));

        var ex = Assert.Throws<InvalidDataException>(() => WeightsFile.Load(path));

        Assert.Contains(path, ex.Message);
        Assert.Contains(expected, ex.Message);
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16, "overlaps")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "within 4 data bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, "corrupt")]
    [InlineData("{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "needs 16 bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8, "too large to exist")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,1e30]}}", 8, "not 64-bit integers")]
    public void Load_HostileSafetensorsHeader_RefusedNamingTheFile(string header, int dataBytes, string expected)
    {
        var path = WriteSafetensors($"hostile{header.GetHashCode():x8}.safetensors", Encoding.UTF8.GetBytes(header), new byte[dataBytes]);

        var (ex, allocated) = LoadFailing(path);

        Assert.Contains(path, ex.Message);
        Assert.Contains(expected, ex.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [Theory]
    [InlineData(100L * 1024 * 1024)]
    [InlineData((100L * 1024 * 1024) + 1)]
    [InlineData(long.MaxValue)]
    public void Load_SafetensorsDeclaringA100MBHeader_RefusedWithoutReadingIt(long headerLength)
    {
        var path = Path.Combine(_dir, $"header{headerLength}.safetensors");
        var bytes = new byte[4096];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, headerLength);
        bytes[8] = (byte)'{';
        File.WriteAllBytes(path, bytes);

        var (ex, allocated) = LoadFailing(path);

        Assert.Contains(path, ex.Message);
        Assert.Contains("declares a header of", ex.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Load_SafetensorsOverTheBudget_RefusedNamingTheBudget()
    {
        var path = Path.Combine(S3dDir, "s3d_weights.safetensors");

        var ex = Assert.Throws<InvalidDataException>(() => WeightsFile.Load(path, maxBytes: 1 << 20));

        Assert.Contains(path, ex.Message);
        Assert.Contains("budget", ex.Message);
    }

    /// <summary>Loads, expecting failure; also returns the bytes this thread allocated meanwhile (loading is synchronous).</summary>
    private static (InvalidDataException Error, long Allocated) LoadFailing(string path)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        InvalidDataException? error = null;
        try
        {
            WeightsFile.Load(path);
        }
        catch (InvalidDataException ex)
        {
            error = ex;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(error is not null, $"{path} loaded");
        return (error, allocated);
    }

    /// <summary>A .pth with one float32 storage "0" of 6 elements viewed with the given shape and stride.</summary>
    private string TinyPth(string prefix, long[] shape, long[] stride)
    {
        var pickle = new PickleBuilder()
            .Proto().Global("collections", "OrderedDict").EmptyTuple().Reduce()
            .Mark().Str("w").Tensor("FloatStorage", "0", 6, offset: 0, shape: shape, stride: stride).SetItems().Stop();
        return WriteZip($"{prefix}.pth", ($"{prefix}/data.pkl", pickle), ($"{prefix}/data/0", new byte[24]));
    }

    private string WriteSafetensors(string name, byte[] header, byte[] data)
    {
        var path = Path.Combine(_dir, name);
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Sets the uncompressed size of <paramref name="entry"/> in both its local header and the central directory, consistently.</summary>
    private static void PatchZipSizes(byte[] zip, string entry, uint uncompressed)
    {
        var name = Encoding.ASCII.GetBytes(entry);
        var patched = 0;
        for (var i = 0; i + 4 <= zip.Length; i++)
        {
            var signature = BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i));
            var (nameAt, sizeAt) = signature switch
            {
                0x04034b50 => (i + 30, i + 22),
                0x02014b50 => (i + 46, i + 24),
                _ => (-1, -1),
            };
            if (nameAt > 0 && nameAt + name.Length <= zip.Length && zip.AsSpan(nameAt, name.Length).SequenceEqual(name)
                && BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(nameAt - (signature == 0x04034b50 ? 4 : 18))) == name.Length)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(sizeAt), uncompressed);
                patched++;
            }
        }

        Assert.Equal(2, patched);
    }

    private string WriteZip(string name, params (string Entry, byte[] Data)[] entries)
    {
        var path = Path.Combine(_dir, name);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (entry, data) in entries)
        {
            using var s = zip.CreateEntry(entry, CompressionLevel.NoCompression).Open();
            s.Write(data);
        }

        return path;
    }

    /// <summary>Writes protocol-2 pickle opcodes the way torch.save lays out a state dict.</summary>
    private sealed class PickleBuilder
    {
        private readonly MemoryStream _s = new();

        public PickleBuilder Proto() => Op(0x80, 2);

        public PickleBuilder Global(string module, string name) => Op((byte)'c').Raw(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));

        public PickleBuilder EmptyTuple() => Op((byte)')');

        public PickleBuilder Tuple1() => Op(0x85);

        public PickleBuilder Reduce() => Op((byte)'R');

        public PickleBuilder Mark() => Op((byte)'(');

        public PickleBuilder SetItems() => Op((byte)'u');

        public PickleBuilder Stop() => Op((byte)'.');

        public PickleBuilder Str(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            Op((byte)'X');
            Span<byte> len = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(len, bytes.Length);
            return Raw(len.ToArray()).Raw(bytes);
        }

        public PickleBuilder Int(long v)
        {
            if (v is < int.MinValue or > int.MaxValue)
            {
                // LONG1 with 8 little-endian bytes, as pickle writes integers beyond 32 bits.
                return Op(0x8a, 8).Raw(BitConverter.GetBytes(v));
            }

            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, checked((int)v));
            return Op((byte)'J').Raw(b.ToArray());
        }

        public PickleBuilder IntTuple(long[] values)
        {
            Mark();
            foreach (var v in values)
            {
                Int(v);
            }

            return Op((byte)'t');
        }

        public PickleBuilder Tensor(string storageType, string key, long numel, long offset, long[] shape, long[] stride)
        {
            Global("torch._utils", "_rebuild_tensor_v2").Mark();
            Mark().Str("storage").Global("torch", storageType).Str(key).Str("cpu").Int(numel).Op((byte)'t').Op((byte)'Q');
            Int(offset).IntTuple(shape).IntTuple(stride).Op(0x89);
            Global("collections", "OrderedDict").EmptyTuple().Reduce();
            return Op((byte)'t').Reduce();
        }

        public static implicit operator byte[](PickleBuilder b) => b._s.ToArray();

        private PickleBuilder Op(params byte[] bytes) => Raw(bytes);

        private PickleBuilder Raw(byte[] bytes)
        {
            _s.Write(bytes);
            return this;
        }
    }
}
