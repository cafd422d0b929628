using System.IO.Compression;

namespace VideoData.Features.Weights;

/// <summary>
/// Reads a state dict saved by <c>torch.save</c> in the zip format (PyTorch ≥ 1.6): a zip with
/// <c>PREFIX/data.pkl</c> (the pickled dict, whose tensors refer to storages by persistent id
/// <c>('storage', torch.FloatStorage, key, location, numel)</c>) and one entry
/// <c>PREFIX/data/KEY</c> of raw little-endian bytes per storage. Only the globals a state dict of
/// tensors needs are accepted; anything else is refused with its name.
/// Bounds, each checked before the bytes are allocated: a zip entry's stored size fits the file and its declared size
/// fits both the deflate limit (at most 1032 bytes out per byte in) and the remaining budget; a storage's element count
/// fits its entry; a tensor's shape, stride and offset stay inside its storage and its bytes within the budget; storage
/// keys name entries inside the archive's <c>data/</c> folder only.
/// </summary>
internal static class PthReader
{
    private sealed record StorageRef(string Key, WeightDType DType, long ElementCount);

    private sealed record TensorRef(StorageRef Storage, long Offset, long[] Shape, long[] Stride);

    private sealed record StorageType(WeightDType DType);

    /// <summary>Deflate emits at most 258 bytes per 2 bits of input, about 1032 per byte; anything claiming more is lying.</summary>
    private const long MaxDeflateRatio = 1032;

    public static StateDict Read(string path, long maxBytes = WeightsFile.DefaultMaxBytes)
    {
        using var stream = File.OpenRead(path);
        var budget = new Budget(path, stream.Length, maxBytes);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"PyTorch file '{path}' is not a readable zip archive (truncated or corrupt): {ex.Message}", ex);
        }

        using (zip)
        {
            var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl").ToList();
            if (pickles.Count != 1)
            {
                throw new InvalidDataException($"PyTorch file '{path}' is a zip but has {pickles.Count} data.pkl entries instead of one; it was not written by torch.save.");
            }

            var prefix = pickles[0].FullName[..^"data.pkl".Length];
            var byteOrder = zip.GetEntry(prefix + "byteorder");
            if (byteOrder is not null)
            {
                using var reader = new StreamReader(byteOrder.Open());
                var order = reader.ReadToEnd().Trim();
                if (order != "little")
                {
                    throw new InvalidDataException($"PyTorch file '{path}' stores its tensors {order}-endian; only little-endian files are supported.");
                }
            }

            var pickle = ReadEntry(pickles[0], path, budget);
            object? root;
            try
            {
                root = new PickleReader(pickle, path + ":" + pickles[0].FullName, Reduce, PersistentLoad, Build).Load();
            }
            catch (InvalidDataException ex) when (!ex.Message.Contains(path, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"PyTorch file '{path}': {ex.Message}", ex);
            }

            var dict = FindStateDict(root, path);
            var storages = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            var tensors = new List<WeightTensor>(dict.Items.Count);
            foreach (var (key, value) in dict.Items)
            {
                var name = key as string ?? throw new InvalidDataException($"PyTorch file '{path}' has a state-dict key that is not a string ({key}).");
                if (value is not TensorRef tensor)
                {
                    throw new InvalidDataException($"PyTorch file '{path}': state-dict entry '{name}' is {Describe(value)}, not a tensor; only a dict of tensors is supported.");
                }

                if (!storages.TryGetValue(tensor.Storage.Key, out var bytes))
                {
                    var entry = zip.GetEntry(prefix + "data/" + tensor.Storage.Key)
                        ?? throw new InvalidDataException($"PyTorch file '{path}' lacks storage entry '{prefix}data/{tensor.Storage.Key}' for tensor '{name}' (truncated?).");
                    var needed = budget.Bytes(tensor.Storage.ElementCount, tensor.Storage.DType, $"storage '{tensor.Storage.Key}'");
                    if (needed > entry.Length)
                    {
                        throw new InvalidDataException($"PyTorch file '{path}': storage '{tensor.Storage.Key}' declares {tensor.Storage.ElementCount} {tensor.Storage.DType} elements ({needed} bytes) but its entry holds {entry.Length} bytes.");
                    }

                    bytes = ReadEntry(entry, path, budget);
                    if (bytes.LongLength < tensor.Storage.ElementCount * tensor.Storage.DType.ElementSize())
                    {
                        throw new InvalidDataException($"PyTorch file '{path}': storage '{tensor.Storage.Key}' has {bytes.LongLength} bytes, fewer than its {tensor.Storage.ElementCount} {tensor.Storage.DType} elements need.");
                    }

                    storages[tensor.Storage.Key] = bytes;
                }

                tensors.Add(new WeightTensor(name, tensor.Storage.DType, tensor.Shape, Materialize(tensor, bytes, name, path, budget)));
            }

            return new StateDict(path, "pytorch-zip", tensors);
        }
    }

    private static PickleDict FindStateDict(object? root, string path)
    {
        if (root is not PickleDict dict)
        {
            throw new InvalidDataException($"PyTorch file '{path}' holds {Describe(root)}, not a state dict.");
        }

        // Training checkpoints often wrap the weights: {'state_dict': {...}, 'epoch': ...}.
        if (dict.Items.All(kv => kv.Value is not TensorRef))
        {
            foreach (var wrapper in new[] { "state_dict", "model_state_dict", "model" })
            {
                if (dict.Items.FirstOrDefault(kv => Equals(kv.Key, wrapper)).Value is PickleDict inner)
                {
                    return inner;
                }
            }
        }

        return dict;
    }

    private static object? Reduce(PickleGlobal callable, object?[] args)
    {
        switch (callable.ToString())
        {
            case "collections.OrderedDict" when args.Length == 0:
                return new PickleDict();
            case "torch._utils._rebuild_tensor_v2" when args.Length is 6 or 7:
                {
                    var storage = args[0] as StorageRef ?? throw new InvalidDataException($"_rebuild_tensor_v2 got {Describe(args[0])} instead of a storage.");
                    return new TensorRef(storage, AsLong(args[1]), AsLongs(args[2]), AsLongs(args[3]));
                }

            case "torch._utils._rebuild_parameter" when args.Length == 3 && args[0] is TensorRef:
                return args[0];
            default:
                throw new InvalidDataException($"the pickle calls {callable}({args.Length} arguments), which is not part of a state dict of tensors; accepted: collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter");
        }
    }

    private static object? PersistentLoad(object? pid)
    {
        if (pid is PickleTuple { Items: ["storage", PickleGlobal type, var key, _, var numel] })
        {
            var dtype = type.Module == "torch" ? StorageDType(type.Name) : null;
            if (dtype is null)
            {
                throw new InvalidDataException($"the pickle refers to storage type {type}, which is not supported (float32, float16, bfloat16, float64, int64, int32, uint8, bool are).");
            }

            var keyText = key as string ?? throw new InvalidDataException($"the pickle has a storage key {Describe(key)} that is not a string.");
            if (keyText.Contains('/', StringComparison.Ordinal) || keyText.Contains('\\', StringComparison.Ordinal) || keyText.Contains("..", StringComparison.Ordinal))
            {
                throw new InvalidDataException($"the pickle has an invalid storage key '{keyText}'.");
            }

            return new StorageRef(keyText, dtype.Value, AsLong(numel));
        }

        throw new InvalidDataException($"the pickle has a persistent id {Describe(pid)} that is not a tensor storage.");
    }

    private static object? Build(object? target, object? state)
    {
        // torch.save(state_dict) sets OrderedDict._metadata (per-module versions) via BUILD; it is not needed.
        if (target is PickleDict)
        {
            return target;
        }

        throw new InvalidDataException($"the pickle sets state on {Describe(target)}, which is not part of a state dict of tensors.");
    }

    private static WeightDType? StorageDType(string name) => name switch
    {
        "FloatStorage" => WeightDType.Float32,
        "HalfStorage" => WeightDType.Float16,
        "BFloat16Storage" => WeightDType.BFloat16,
        "DoubleStorage" => WeightDType.Float64,
        "LongStorage" => WeightDType.Int64,
        "IntStorage" => WeightDType.Int32,
        "ByteStorage" => WeightDType.UInt8,
        "BoolStorage" => WeightDType.Bool,
        _ => null,
    };

    private static byte[] Materialize(TensorRef tensor, byte[] storage, string name, string path, Budget budget)
    {
        var size = tensor.Storage.DType.ElementSize();
        var shape = tensor.Shape;
        if (tensor.Stride.Length != shape.Length)
        {
            throw new InvalidDataException($"PyTorch file '{path}': tensor '{name}' has {shape.Length} dimensions but {tensor.Stride.Length} strides.");
        }

        long count;
        try
        {
            count = WeightTensor.NumElements(shape);
        }
        catch (Exception ex) when (ex is OverflowException or InvalidDataException)
        {
            throw new InvalidDataException($"PyTorch file '{path}': tensor '{name}' has shape [{string.Join(", ", shape)}], which is negative or too large to exist.", ex);
        }

        if (count == 0)
        {
            return [];
        }

        // Highest element index the view touches must lie inside the storage, before anything is allocated for it.
        var last = tensor.Offset;
        try
        {
            for (var d = 0; d < shape.Length; d++)
            {
                if (tensor.Stride[d] < 0)
                {
                    throw new InvalidDataException($"PyTorch file '{path}': tensor '{name}' has a negative stride.");
                }

                last = checked(last + ((shape[d] - 1) * tensor.Stride[d]));
            }
        }
        catch (OverflowException)
        {
            last = long.MaxValue;
        }

        if (tensor.Offset < 0 || last >= tensor.Storage.ElementCount)
        {
            throw new InvalidDataException($"PyTorch file '{path}': tensor '{name}' {tensor.Storage.DType} [{string.Join(", ", shape)}] reaches element {last} of a storage of {tensor.Storage.ElementCount}.");
        }

        // A strided view (stride 0) may repeat storage elements: its bytes count against the budget, not the storage.
        var result = new byte[budget.Take(budget.Bytes(count, tensor.Storage.DType, $"tensor '{name}'"), $"tensor '{name}'")];

        if (IsContiguous(shape, tensor.Stride))
        {
            Buffer.BlockCopy(storage, checked((int)(tensor.Offset * size)), result, 0, result.Length);
            return result;
        }

        // A strided view (rare in a state dict): gather element by element at load time.
        var index = new long[shape.Length];
        for (long i = 0; i < count; i++)
        {
            var source = tensor.Offset;
            for (var d = 0; d < shape.Length; d++)
            {
                source += index[d] * tensor.Stride[d];
            }

            Buffer.BlockCopy(storage, checked((int)(source * size)), result, checked((int)(i * size)), size);
            for (var d = shape.Length - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d])
                {
                    break;
                }

                index[d] = 0;
            }
        }

        return result;
    }

    private static bool IsContiguous(long[] shape, long[] stride)
    {
        long expected = 1;
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] != 1 && stride[d] != expected)
            {
                return false;
            }

            expected *= shape[d];
        }

        return true;
    }

    private static byte[] ReadEntry(ZipArchiveEntry entry, string path, Budget budget)
    {
        if (entry.CompressedLength > budget.FileBytes || entry.Length > (entry.CompressedLength * MaxDeflateRatio) + 64)
        {
            throw new InvalidDataException($"PyTorch file '{path}': entry '{entry.FullName}' declares {entry.Length} bytes from {entry.CompressedLength} stored bytes in a {budget.FileBytes}-byte file, which it cannot hold.");
        }

        var length = budget.Take(entry.Length, $"entry '{entry.FullName}'");
        try
        {
            using var s = entry.Open();
            var bytes = new byte[length];
            s.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new InvalidDataException($"PyTorch file '{path}': entry '{entry.FullName}' cannot be read (truncated or corrupt): {ex.Message}", ex);
        }
    }

    /// <summary>What the file may still make us allocate, and its real size.</summary>
    private sealed class Budget(string path, long fileBytes, long maxBytes)
    {
        private readonly long _max = maxBytes;
        private long _left = maxBytes;

        public long FileBytes => fileBytes;

        /// <summary>Bytes of <paramref name="count"/> elements, refusing counts whose size overflows.</summary>
        public long Bytes(long count, WeightDType dtype, string what)
        {
            try
            {
                return checked(count * dtype.ElementSize());
            }
            catch (OverflowException ex)
            {
                throw new InvalidDataException($"PyTorch file '{path}': {what} declares {count} {dtype} elements, more bytes than can exist.", ex);
            }
        }

        /// <summary>Reserves <paramref name="bytes"/> of the budget, or refuses naming the file and the budget.</summary>
        public int Take(long bytes, string what)
        {
            if (bytes < 0 || bytes > _left || bytes > Array.MaxLength)
            {
                throw new InvalidDataException($"PyTorch file '{path}': {what} needs {bytes} bytes, over what is left of the budget ({_left} of {_max} bytes).");
            }

            _left -= bytes;
            return (int)bytes;
        }
    }

    private static long AsLong(object? value) => value is long l ? l : throw new InvalidDataException($"expected an integer in the pickle, found {Describe(value)}.");

    private static long[] AsLongs(object? value) => value is PickleTuple t
        ? t.Items.Select(AsLong).ToArray()
        : throw new InvalidDataException($"expected a tuple of integers in the pickle, found {Describe(value)}.");

    private static string Describe(object? value) => value switch
    {
        null => "None",
        PickleGlobal g => g.ToString(),
        PickleTuple t => $"a tuple of {t.Items.Length}",
        PickleDict d => $"a dict of {d.Items.Count}",
        List<object?> l => $"a list of {l.Count}",
        string s => $"the string '{s}'",
        _ => value.GetType().Name + " " + value,
    };
}
