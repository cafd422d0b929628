using VideoData.Features.Weights;
using static TorchSharp.torch;

namespace VideoData.Training.Model;

/// <summary>
/// Exports a trained model's weights for use outside this tool: its state dict (every parameter and buffer, under
/// TorchSharp's names such as <c>videoEncoder.layers.0.self_attn.in_proj_weight</c>) as a PyTorch <c>.pth</c> that
/// <c>torch.load</c> reads, and as safetensors. Values are copied bit for bit (float32 stays float32).
/// </summary>
internal static class ModelExport
{
    /// <summary>The model's state dict as host tensors, in the model's registration order.</summary>
    /// <exception cref="NotSupportedException">A tensor has an element type the weights formats here do not carry.</exception>
    public static IReadOnlyList<WeightTensor> StateDict(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tensors = new List<WeightTensor>();
        foreach (var (name, value) in model.state_dict())
        {
            // Its own scope keeps every temporary alive until its native call ends (see WeightDigest.HostValues), one host
            // copy at a time.
            using var scope = NewDisposeScope();
            var host = value.detach().cpu().contiguous();
            tensors.Add(new WeightTensor(name, DType(name, host.dtype), host.shape, host.bytes.ToArray()));
        }

        return tensors;
    }

    /// <summary>Writes the state dict of <paramref name="model"/> as a PyTorch zip-format <c>.pth</c> (atomically).</summary>
    public static void WritePth(nn.Module model, string path) => StateDictWriter.WritePth(path, StateDict(model));

    /// <summary>Writes the state dict of <paramref name="model"/> as safetensors with <paramref name="metadata"/> (atomically).</summary>
    public static void WriteSafetensors(nn.Module model, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        StateDictWriter.WriteSafetensors(path, StateDict(model), metadata);

    private static WeightDType DType(string name, ScalarType type) => type switch
    {
        ScalarType.Float32 => WeightDType.Float32,
        ScalarType.Float16 => WeightDType.Float16,
        ScalarType.BFloat16 => WeightDType.BFloat16,
        ScalarType.Float64 => WeightDType.Float64,
        ScalarType.Int64 => WeightDType.Int64,
        ScalarType.Int32 => WeightDType.Int32,
        ScalarType.Byte => WeightDType.UInt8,
        ScalarType.Bool => WeightDType.Bool,
        _ => throw new NotSupportedException($"Tensor '{name}' is {type}, which the .pth and safetensors export does not support."),
    };
}
