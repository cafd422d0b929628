using VideoData.Features.Weights;

namespace VideoData.Features.Tests.Weights;

/// <summary>Round trips of <see cref="StateDictWriter"/> through our readers, for every dtype and the odd shapes (scalar, empty).</summary>
public sealed class StateDictWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-statedict-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<WeightTensor> EveryKind()
    {
        var random = new Random(4);
        WeightTensor Make(string name, WeightDType dtype, params long[] shape)
        {
            var bytes = new byte[WeightTensor.NumElements(shape) * dtype.ElementSize()];
            random.NextBytes(bytes);
            if (dtype == WeightDType.Bool)
            {
                for (var i = 0; i < bytes.Length; i++)
                {
                    bytes[i] &= 1;
                }
            }

            return new WeightTensor(name, dtype, shape, bytes);
        }

        return
        [
            Make("encoder.layers.0.weight", WeightDType.Float32, 3, 4, 2),
            Make("half", WeightDType.Float16, 5),
            Make("brain", WeightDType.BFloat16, 2, 2),
            Make("double", WeightDType.Float64, 3),
            Make("bn.num_batches_tracked", WeightDType.Int64),
            Make("ints", WeightDType.Int32, 1, 6),
            Make("bytes", WeightDType.UInt8, 7),
            Make("mask", WeightDType.Bool, 2, 3),
            Make("empty", WeightDType.Float32, 0, 4),
            Make("naïve.ünïcode", WeightDType.Float32, 2),
        ];
    }

    [Theory]
    [InlineData("model.pth")]
    [InlineData("model.safetensors")]
    public void Write_EveryDtypeAndShape_ReadsBackEqualInOrder(string name)
    {
        var tensors = EveryKind();
        var path = Path.Combine(_dir, name);
        if (name.EndsWith(".pth", StringComparison.Ordinal))
        {
            StateDictWriter.WritePth(path, tensors);
        }
        else
        {
            StateDictWriter.WriteSafetensors(path, tensors, new Dictionary<string, string> { ["k"] = "v" });
        }

        var read = WeightsFile.Load(path);
        Assert.Equal(name.EndsWith(".pth", StringComparison.Ordinal) ? "pytorch-zip" : "safetensors", read.Format);
        Assert.Equal(tensors.Select(t => t.Name), read.Keys);
        foreach (var t in tensors)
        {
            Assert.Equal(t.DType, read[t.Name].DType);
            Assert.Equal(t.Shape, read[t.Name].Shape);
            Assert.Equal(t.Data, read[t.Name].Data);
        }

        Assert.Equal([name], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void WritePth_OverAnExistingFile_ReplacesItWhole()
    {
        var path = Path.Combine(_dir, "model.pth");
        File.WriteAllText(path, "an older export");
        var tensors = EveryKind().Take(2).ToList();

        StateDictWriter.WritePth(path, tensors);

        Assert.Equal(tensors.Select(t => t.Name), WeightsFile.Load(path).Keys);
    }
}
