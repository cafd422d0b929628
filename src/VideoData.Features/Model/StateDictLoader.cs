using System.Text;
using TorchSharp;
using VideoData.Features.Weights;
using static TorchSharp.torch;

namespace VideoData.Features.Model;

/// <summary>Copies a <see cref="StateDict"/> into a module's parameters and buffers, strictly.</summary>
internal static class StateDictLoader
{
    /// <summary>
    /// Key prefixes of the published checkpoint that belong to other towers and are skipped: the
    /// MIL-NCE checkpoint also holds the text module, which video feature extraction does not use.
    /// </summary>
    public static readonly IReadOnlyList<string> IgnoredPrefixes = ["text_module."];

    /// <summary>
    /// Loads every tensor of the module from <paramref name="weights"/>, converting dtypes. Missing
    /// keys, unexpected keys and shape mismatches are all collected and reported in one
    /// <see cref="InvalidDataException"/> that lists them.
    /// </summary>
    public static void Load(nn.Module module, StateDict weights)
    {
        var targets = module.state_dict();
        var missing = targets.Keys.Where(k => !weights.ContainsKey(k)).ToList();
        var unexpected = weights.Keys
            .Where(k => !targets.ContainsKey(k) && !IgnoredPrefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal)))
            .ToList();
        var mismatched = targets
            .Where(kv => weights.TryGetValue(kv.Key, out var w) && !w.Shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: file {weights[kv.Key].ShapeText}, model [{string.Join(", ", kv.Value.shape)}]")
            .ToList();
        if (missing.Count > 0 || unexpected.Count > 0 || mismatched.Count > 0)
        {
            var message = new StringBuilder($"Weights '{weights.Source}' do not fit the S3D-G encoder:");
            Append(message, "missing keys", missing);
            Append(message, "unexpected keys", unexpected);
            Append(message, "shape mismatches", mismatched);
            throw new InvalidDataException(message.ToString());
        }

        using var noGrad = no_grad();
        foreach (var (name, target) in targets)
        {
            var source = weights[name];
            using var staged = empty(source.Shape, ToScalarType(source.DType));
            if (source.Data.Length > 0)
            {
                staged.bytes = source.Data;
            }

            target.copy_(staged);
        }
    }

    private static void Append(StringBuilder message, string what, List<string> items)
    {
        if (items.Count > 0)
        {
            const int Shown = 40;
            var more = items.Count > Shown ? $", … and {items.Count - Shown} more" : "";
            message.Append($" {items.Count} {what} ({string.Join(", ", items.Take(Shown))}{more});");
        }
    }

    private static ScalarType ToScalarType(WeightDType dtype) => dtype switch
    {
        WeightDType.Float32 => ScalarType.Float32,
        WeightDType.Float16 => ScalarType.Float16,
        WeightDType.BFloat16 => ScalarType.BFloat16,
        WeightDType.Float64 => ScalarType.Float64,
        WeightDType.Int64 => ScalarType.Int64,
        WeightDType.Int32 => ScalarType.Int32,
        WeightDType.UInt8 => ScalarType.Byte,
        WeightDType.Bool => ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown weight dtype."),
    };
}
