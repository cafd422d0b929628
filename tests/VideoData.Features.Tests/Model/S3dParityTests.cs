using TorchSharp;
using VideoData.Features.Model;
using VideoData.Features.Weights;
using VideoData.Testing;
using static TorchSharp.torch;

namespace VideoData.Features.Tests.Model;

/// <summary>
/// Acceptance test of the encoder (testdata/s3d/README.md): with the parity weights loaded from
/// either file, both golden inputs reproduce the reference outputs to
/// max|Δ| ≤ 1e-4·max|reference| + 1e-5 in float32 on the CPU.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class S3dParityTests
{
    internal static string ParityDir =>
        Environment.GetEnvironmentVariable("S3D_PARITY_DIR") is { Length: > 0 } dir ? dir : RepoPaths.RequireSharedTestData("s3d");

    public static TheoryData<string, string> Cases => new()
    {
        { "s3d_weights.safetensors", "small" },
        { "s3d_weights.safetensors", "mmpt" },
        { "s3d_weights.pth", "small" },
        { "s3d_weights.pth", "mmpt" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_GoldenInput_MatchesReference(string weightsFile, string input)
    {
        var golden = WeightsFile.Load(Path.Combine(ParityDir, "s3d_golden_io.safetensors"));
        using var model = new S3dG();
        StateDictLoader.Load(model, WeightsFile.Load(Path.Combine(ParityDir, weightsFile)));
        model.eval();

        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var x = ToTensor(golden["input_" + input]).to(ScalarType.Float32).div_(255);
        var (embedding, mixed5c) = model.forward(x);

        AssertClose(ToTensor(golden["video_embedding_" + input]), embedding, "video_embedding_" + input);
        AssertClose(ToTensor(golden["mixed_5c_" + input]), mixed5c, "mixed_5c_" + input);
    }

    internal static Tensor ToTensor(WeightTensor t)
    {
        var dtype = t.DType switch
        {
            WeightDType.UInt8 => ScalarType.Byte,
            WeightDType.Float32 => ScalarType.Float32,
            _ => throw new NotSupportedException(t.DType.ToString()),
        };
        var result = empty(t.Shape, dtype);
        result.bytes = t.Data;
        return result;
    }

    internal static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        var maxRef = expected.abs().max().item<float>();
        var maxDiff = (expected - actual).abs().max().item<float>();
        var tolerance = (1e-4f * maxRef) + 1e-5f;
        Assert.True(maxDiff <= tolerance, $"{what}: max|Δ| = {maxDiff:E3} exceeds {tolerance:E3} (max|ref| = {maxRef:E3})");
    }
}
