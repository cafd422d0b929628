using System.Buffers.Binary;
using System.Collections;
using System.Security.Cryptography;
using System.Text;

namespace VideoData.Features.Weights;

/// <summary>
/// A loaded state dict: tensors by key, in file order, plus where they came from and a content
/// hash for lineage. The hash covers names, dtypes, shapes and bytes in key order, not the file
/// container, so the same weights saved as safetensors and as a PyTorch <c>.pth</c> hash alike.
/// </summary>
public sealed class StateDict : IReadOnlyDictionary<string, WeightTensor>
{
    private readonly Dictionary<string, WeightTensor> _byName;
    private readonly List<WeightTensor> _ordered;
    private readonly Lazy<string> _sha256;

    internal StateDict(string source, string format, IEnumerable<WeightTensor> tensors)
    {
        Source = source;
        Format = format;
        _ordered = [];
        _byName = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (!_byName.TryAdd(t.Name, t))
            {
                throw new InvalidDataException($"Weights file '{source}' holds the key '{t.Name}' twice.");
            }

            _ordered.Add(t);
        }

        _sha256 = new Lazy<string>(ComputeHash);
    }

    /// <summary>The path (or description) the weights were read from.</summary>
    public string Source { get; }

    /// <summary><c>safetensors</c> or <c>pytorch-zip</c>.</summary>
    public string Format { get; }

    /// <summary>Lower-case hex SHA-256 of the content (see the type's remarks); computed once.</summary>
    public string Sha256 => _sha256.Value;

    /// <summary>The tensors in file order.</summary>
    public IReadOnlyList<WeightTensor> Tensors => _ordered;

    /// <summary>Total number of elements over all tensors.</summary>
    public long ElementCount => _ordered.Sum(t => t.ElementCount);

    /// <inheritdoc />
    public int Count => _ordered.Count;

    /// <inheritdoc />
    public IEnumerable<string> Keys => _ordered.Select(t => t.Name);

    /// <inheritdoc />
    public IEnumerable<WeightTensor> Values => _ordered;

    /// <inheritdoc />
    public WeightTensor this[string key] => _byName.TryGetValue(key, out var t)
        ? t
        : throw new KeyNotFoundException($"Weights '{Source}' have no tensor '{key}'.");

    /// <inheritdoc />
    public bool ContainsKey(string key) => _byName.ContainsKey(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, out WeightTensor value) => _byName.TryGetValue(key, out value!);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, WeightTensor>> GetEnumerator() =>
        _ordered.Select(t => new KeyValuePair<string, WeightTensor>(t.Name, t)).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private string ComputeHash()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        foreach (var t in _ordered.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            var name = Encoding.UTF8.GetBytes(t.Name);
            BinaryPrimitives.WriteInt64LittleEndian(number, name.Length);
            hash.AppendData(number);
            hash.AppendData(name);
            hash.AppendData(Encoding.ASCII.GetBytes(t.DType.ToSafetensorsName()));
            BinaryPrimitives.WriteInt64LittleEndian(number, t.Shape.Length);
            hash.AppendData(number);
            foreach (var d in t.Shape)
            {
                BinaryPrimitives.WriteInt64LittleEndian(number, d);
                hash.AppendData(number);
            }

            hash.AppendData(t.Data);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
