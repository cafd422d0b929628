using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using VideoData.Features.Weights;
using VideoData.Training.Model;
using static TorchSharp.torch;

namespace VideoData.Training.Tests.Model;

[Collection("TorchSharp training")]
public sealed class ModelExportTests : IDisposable
{
    private const string Python = "/usr/bin/python3";

    // Loads the .pth with PyTorch itself (weights_only where this PyTorch has it: only plain tensor globals allowed),
    // parses the safetensors file by hand with numpy, checks both hold the same tensors, and prints per tensor the
    // dtype, shape and SHA-256 of its little-endian bytes.
    private const string Checker = """
        import hashlib, inspect, json, struct, sys
        import numpy as np
        import torch
        pth, st = sys.argv[1], sys.argv[2]
        kwargs = {"weights_only": True} if "weights_only" in inspect.signature(torch.load).parameters else {}
        state = torch.load(pth, map_location="cpu", **kwargs)
        assert type(state).__name__ == "OrderedDict", type(state)
        raw = open(st, "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        meta = header.pop("__metadata__", {})
        assert list(header) == list(state), (list(header)[:3], list(state)[:3])
        out = {"torch": torch.__version__, "metadata": meta, "tensors": {}}
        for name, t in state.items():
            e = header[name]
            begin, end = e["data_offsets"]
            assert e["dtype"] == "F32" and t.dtype == torch.float32, (name, e["dtype"], t.dtype)
            a = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype="<f4").reshape(e["shape"])
            assert torch.equal(torch.from_numpy(a.copy()), t), name
            assert t.is_contiguous() and not t.requires_grad, name
            out["tensors"][name] = {"dtype": str(t.dtype), "shape": list(t.shape), "sha256": hashlib.sha256(t.numpy().astype("<f4").tobytes()).hexdigest()}
        print(json.dumps(out))
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static VideoClipModel TrainedLookingModel()
    {
        random.manual_seed(11);
        var model = new VideoClipModel(VideoClipModelOptions.Tiny with { FeatureDim = 16, Hidden = 32, FeedForward = 64 });
        using (no_grad())
        {
            // Not the initial values (LayerNorm weights start at exactly 1, biases at 0): every tensor distinct.
            foreach (var p in model.parameters())
            {
                using var noise = randn_like(p);
                p.add_(noise);
            }
        }

        return model;
    }

    /// <summary>What we hold: name → (shape, SHA-256 of the float32 bytes), straight from the model's tensors.</summary>
    private static Dictionary<string, (long[] Shape, string Sha256)> Ours(VideoClipModel model) =>
        model.state_dict().ToDictionary(
            kv => kv.Key,
            kv =>
            {
                using var host = kv.Value.detach().cpu().contiguous();
                return (host.shape, Convert.ToHexStringLower(SHA256.HashData(host.bytes)));
            });

    [Fact]
    public void WritePthAndSafetensors_OurReaders_ReadBackEveryTensorBitForBit()
    {
        using var model = TrainedLookingModel();
        var pth = Path.Combine(_dir, "model.pth");
        var safetensors = Path.Combine(_dir, "model.safetensors");
        ModelExport.WritePth(model, pth);
        ModelExport.WriteSafetensors(model, safetensors, new Dictionary<string, string> { ["producer"] = "test" });

        var expected = ModelExport.StateDict(model);
        foreach (var read in new[] { WeightsFile.Load(pth), WeightsFile.Load(safetensors) })
        {
            Assert.Equal(expected.Select(t => t.Name), read.Keys);
            foreach (var t in expected)
            {
                Assert.Equal(t.Shape, read[t.Name].Shape);
                Assert.Equal(t.DType, read[t.Name].DType);
                Assert.Equal(t.Data, read[t.Name].Data);
            }
        }

        Assert.Equal(WeightsFile.Load(pth).Sha256, WeightsFile.Load(safetensors).Sha256);
        Assert.Equal(model.state_dict().Count, expected.Count);
        Assert.Empty(Directory.GetFiles(_dir, ".*"));
    }

    [Fact]
    public async Task WritePth_PyTorchLoadsIt_EveryTensorMatchesOurs()
    {
        using var model = TrainedLookingModel();
        var pth = Path.Combine(_dir, "model.pth");
        var safetensors = Path.Combine(_dir, "model.safetensors");
        ModelExport.WritePth(model, pth);
        ModelExport.WriteSafetensors(model, safetensors, new Dictionary<string, string> { ["producer"] = "test" });
        var script = Path.Combine(_dir, "check.py");
        await File.WriteAllTextAsync(script, Checker);

        Assert.True(File.Exists(Python), $"{Python} is missing: infra/scripts/setup.sh --tests installs python3-torch and python3-numpy.");
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { script, pth, safetensors })
        {
            start.ArgumentList.Add(argument);
        }

        using var python = Process.Start(start)!;
        var stdout = python.StandardOutput.ReadToEndAsync();
        var stderr = python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(python.ExitCode == 0, $"python3 + torch could not load or check the export (setup.sh --tests installs python3-torch): {await stderr}");

        using var report = JsonDocument.Parse(await stdout);
        var theirs = report.RootElement.GetProperty("tensors").EnumerateObject().ToList();
        var ours = Ours(model);
        Assert.Equal(ours.Keys, theirs.Select(p => p.Name));
        foreach (var tensor in theirs)
        {
            var (shape, sha) = ours[tensor.Name];
            Assert.Equal("torch.float32", tensor.Value.GetProperty("dtype").GetString());
            Assert.Equal(shape, tensor.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
            Assert.True(sha == tensor.Value.GetProperty("sha256").GetString(), $"tensor '{tensor.Name}' has other values in PyTorch");
        }

        Assert.Equal("test", report.RootElement.GetProperty("metadata").GetProperty("producer").GetString());
    }

    [Fact]
    public void WriteSafetensors_DuplicateOrReservedName_IsRefusedNamingIt()
    {
        var t = new WeightTensor("a", WeightDType.Float32, [1], new byte[4]);
        var duplicate = Assert.Throws<ArgumentException>(() => StateDictWriter.WriteSafetensors(Path.Combine(_dir, "x.safetensors"), [t, t]));
        Assert.Contains("'a'", duplicate.Message, StringComparison.Ordinal);
        var reserved = Assert.Throws<ArgumentException>(() => StateDictWriter.WriteSafetensors(Path.Combine(_dir, "x.safetensors"), [new WeightTensor("__metadata__", WeightDType.Float32, [1], new byte[4])]));
        Assert.Contains("__metadata__", reserved.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir));
    }
}
