using VideoData.Features.Model;
using VideoData.Features.Weights;

namespace VideoData.Features.Tests.Model;

[Collection(TorchCollection.Name)]
public sealed class StateDictLoaderTests
{
    [Fact]
    public void Load_MissingUnexpectedAndMisshapenKeys_ListsEachInOneError()
    {
        var source = WeightsFile.Load(Path.Combine(S3dParityTests.ParityDir, "s3d_weights.safetensors"));
        var tensors = source.Values
            .Where(t => t.Name != "fc.bias")
            .Select(t => t.Name == "gating.fc.weight" ? new WeightTensor(t.Name, t.DType, [192, 191], new byte[192 * 191 * 4]) : t)
            .Append(new WeightTensor("extra.weight", WeightDType.Float32, [2], new byte[8]))
            .Append(new WeightTensor("text_module.fc1.weight", WeightDType.Float32, [2], new byte[8]));
        var broken = new StateDict("broken.safetensors", "safetensors", tensors);
        using var model = new S3dG();

        var ex = Assert.Throws<InvalidDataException>(() => StateDictLoader.Load(model, broken));

        Assert.Contains("broken.safetensors", ex.Message);
        Assert.Contains("1 missing keys (fc.bias)", ex.Message);
        Assert.Contains("1 unexpected keys (extra.weight)", ex.Message);
        Assert.Contains("gating.fc.weight: file [192, 191], model [192, 192]", ex.Message);
        Assert.DoesNotContain("text_module", ex.Message);
    }

    [Fact]
    public void Load_Float16Weights_AreConvertedToTheModelDtype()
    {
        var source = WeightsFile.Load(Path.Combine(S3dParityTests.ParityDir, "s3d_weights.safetensors"));
        var halved = source.Values.Select(t => t.DType != WeightDType.Float32 ? t : new WeightTensor(t.Name, WeightDType.Float16, t.Shape, ToHalf(t.Data)));
        using var model = new S3dG();

        StateDictLoader.Load(model, new StateDict("half.safetensors", "safetensors", halved));

        var loaded = model.state_dict()["fc.bias"].data<float>().ToArray();
        var expected = ToFloats(ToHalf(source["fc.bias"].Data));
        Assert.Equal(expected, loaded);
    }

    private static byte[] ToHalf(byte[] float32)
    {
        var result = new byte[float32.Length / 2];
        for (var i = 0; i < result.Length / 2; i++)
        {
            BitConverter.TryWriteBytes(result.AsSpan(i * 2), (Half)BitConverter.ToSingle(float32, i * 4));
        }

        return result;
    }

    private static float[] ToFloats(byte[] half) =>
        Enumerable.Range(0, half.Length / 2).Select(i => (float)BitConverter.ToHalf(half, i * 2)).ToArray();
}
