namespace VideoData.Features.Weights;

/// <summary>
/// Loads a state dict from a safetensors file or a PyTorch zip-format <c>.pth</c>, recognized by
/// content rather than extension. Loading needs no libtorch.
/// </summary>
public static class WeightsFile
{
    /// <summary>The default budget of <see cref="Load(string, long)"/>: 4 GiB of tensor bytes (S3D-G's weights are ~40 MB).</summary>
    public const long DefaultMaxBytes = 4L << 30;

    /// <summary>
    /// Reads every tensor of <paramref name="path"/>. Throws <see cref="FileNotFoundException"/> if it
    /// is missing and <see cref="InvalidDataException"/> naming the file and the problem if it is not
    /// a supported, intact weights file (a legacy pre-1.6 PyTorch file gets instructions to convert it).
    /// </summary>
    public static StateDict Load(string path) => Load(path, DefaultMaxBytes);

    /// <summary>
    /// As <see cref="Load(string)"/>, with <paramref name="maxBytes"/> as the most bytes of tensor data (and of a .pth's
    /// pickle) the file may make us allocate. Every size the file declares (zip entry sizes, storage element counts,
    /// tensor shapes, safetensors header length and offsets) is checked against the file's real size and this budget
    /// before anything is allocated; a file over either is an <see cref="InvalidDataException"/> naming it.
    /// </summary>
    public static StateDict Load(string path, long maxBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Weights file '{path}' does not exist.", path);
        }

        Span<byte> head = stackalloc byte[9];
        int read;
        using (var stream = File.OpenRead(path))
        {
            read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }

        head = head[..read];
        if (head.StartsWith("PK\u0003\u0004"u8))
        {
            return PthReader.Read(path, maxBytes);
        }

        if (head.Length >= 2 && head[0] == 0x80 && head[1] <= 5)
        {
            throw new InvalidDataException(
                $"Weights file '{path}' is a legacy (pre-1.6, non-zip) PyTorch file, which is not supported. Convert it once with PyTorch: " +
                "python3 -c \"import torch,sys; torch.save(torch.load(sys.argv[1], map_location='cpu'), sys.argv[2])\" OLD.pth NEW.pth " +
                "(PyTorch >= 1.6 writes the zip format), or save the state dict as safetensors.");
        }

        if (head.Length == 9 && head[8] == (byte)'{')
        {
            return SafetensorsReader.Read(path, maxBytes);
        }

        throw new InvalidDataException($"Weights file '{path}' is neither safetensors nor a PyTorch zip (.pth) file (it starts with bytes {Convert.ToHexString(head)}).");
    }
}
