namespace VideoData.Features.Weights;

/// <summary>Element types a weights file may hold.</summary>
public enum WeightDType
{
    /// <summary>IEEE 754 binary32.</summary>
    Float32,

    /// <summary>IEEE 754 binary16.</summary>
    Float16,

    /// <summary>bfloat16 (the upper half of a binary32).</summary>
    BFloat16,

    /// <summary>IEEE 754 binary64.</summary>
    Float64,

    /// <summary>Signed 64-bit integer (BatchNorm's <c>num_batches_tracked</c>).</summary>
    Int64,

    /// <summary>Signed 32-bit integer.</summary>
    Int32,

    /// <summary>Unsigned 8-bit integer.</summary>
    UInt8,

    /// <summary>A one-byte boolean.</summary>
    Bool,
}

/// <summary>Sizes and spellings of <see cref="WeightDType"/>.</summary>
public static class WeightDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this WeightDType dtype) => dtype switch
    {
        WeightDType.Float32 or WeightDType.Int32 => 4,
        WeightDType.Float16 or WeightDType.BFloat16 => 2,
        WeightDType.Float64 or WeightDType.Int64 => 8,
        WeightDType.UInt8 or WeightDType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown weight dtype."),
    };

    /// <summary>The safetensors spelling (F32, F16, BF16, F64, I64, I32, U8, BOOL).</summary>
    public static string ToSafetensorsName(this WeightDType dtype) => dtype switch
    {
        WeightDType.Float32 => "F32",
        WeightDType.Float16 => "F16",
        WeightDType.BFloat16 => "BF16",
        WeightDType.Float64 => "F64",
        WeightDType.Int64 => "I64",
        WeightDType.Int32 => "I32",
        WeightDType.UInt8 => "U8",
        WeightDType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown weight dtype."),
    };
}

/// <summary>
/// One tensor of a state dict: its name, element type, shape and contiguous little-endian
/// row-major bytes. Read from disk without libtorch, so a file can be checked before the model exists.
/// </summary>
public sealed class WeightTensor
{
    /// <summary>Creates a tensor; <paramref name="data"/> must hold exactly numel·element-size bytes.</summary>
    public WeightTensor(string name, WeightDType dtype, long[] shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        var expected = NumElements(shape) * dtype.ElementSize();
        if (expected != data.LongLength)
        {
            throw new ArgumentException($"Tensor '{name}' of shape [{string.Join(", ", shape)}] {dtype} needs {expected} bytes but has {data.LongLength}.", nameof(data));
        }

        Name = name;
        DType = dtype;
        Shape = shape;
        Data = data;
    }

    /// <summary>The state-dict key, e.g. <c>mixed_4e.conv_b1_b.bn2.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public WeightDType DType { get; }

    /// <summary>The shape; empty for a scalar.</summary>
    public long[] Shape { get; }

    /// <summary>Contiguous row-major little-endian element bytes.</summary>
    public byte[] Data { get; }

    /// <summary>Number of elements (1 for a scalar).</summary>
    public long ElementCount => NumElements(Shape);

    /// <summary>The shape as text, e.g. <c>[64, 24, 2, 4, 4]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    internal static long NumElements(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new InvalidDataException($"Negative dimension {d} in a tensor shape.");
            }

            n = checked(n * d);
        }

        return n;
    }
}
