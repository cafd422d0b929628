using VideoData.Captions.Cleaning;
using VideoData.Features.Runtime;
using VideoData.Pipeline.Definition;
using VideoData.Testing;

namespace VideoData.Pipeline.Tests.Definition;

public class PipelineDefinitionLoaderTests
{
    [Theory]
    [InlineData("howto100m.json")]
    [InlineData("demo.json")]
    public void Load_ShippedPipelines_AreValid(string file)
    {
        var definition = PipelineDefinitionLoader.Load(Path.Combine(RepoPaths.Root, "pipelines", file), []);

        Assert.Equal(30, definition.Decode.Fps);
        Assert.Equal(224, definition.Decode.Size);
        Assert.Equal(DedupMode.Reference, definition.Captions.Dedup);
    }

    [Fact]
    public void Load_HowTo100M_HasTheReferenceSettings()
    {
        var definition = PipelineDefinitionLoader.Load(Path.Combine(RepoPaths.Root, "pipelines", "howto100m.json"), []);

        Assert.Equal(4096, definition.ShardSize);
        Assert.Equal("s3://howto100m/videos/{video_id}.mp4", definition.UriTemplate);
        Assert.True(definition.Encoder.Normalize);
        Assert.EndsWith("s3d_howto100m.pth", definition.Encoder.Weights, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Overrides_ReplaceNestedFieldsWithTypedValues()
    {
        var definition = PipelineDefinitionLoader.Load(
            Path.Combine(RepoPaths.Root, "pipelines", "demo.json"),
            ["decode.fps=25", "encoder.device=cuda", "shard_size=3", "captions.required=true", "output=/tmp/x"]);

        Assert.Equal(25, definition.Decode.Fps);
        Assert.Equal(EncoderDevice.Cuda, definition.Encoder.Device);
        Assert.Equal(3, definition.ShardSize);
        Assert.True(definition.Captions.Required);
        Assert.Equal("/tmp/x", definition.Output);
    }

    [Fact]
    public void Load_CaptionsDedupAndCueCap_AcceptWordsAndRejectBadValuesByName()
    {
        var defaults = PipelineDefinitionLoader.Load(null, []);
        Assert.Equal((DedupMode.Reference, 10_000), (defaults.Captions.Dedup, defaults.Captions.MaxCueCharacters));
        var words = PipelineDefinitionLoader.Load(null, ["captions.dedup=words", "captions.max_cue_characters=500"]);
        Assert.Equal((DedupMode.Words, 500), (words.Captions.Dedup, words.Captions.MaxCueCharacters));

        var dedup = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, ["captions.dedup=word"]));
        Assert.Contains("captions.dedup", dedup.Message, StringComparison.Ordinal);
        Assert.Contains("must be reference, words or none", dedup.Message, StringComparison.Ordinal);
        var cap = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, ["captions.max_cue_characters=1"]));
        Assert.Contains("captions.max_cue_characters", cap.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_InvalidValue_NamesTheFieldAndValue()
    {
        var error = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, ["decode.decoder=vaapi"]));

        Assert.Contains("decode.decoder", error.Message, StringComparison.Ordinal);
        Assert.Contains("vaapi", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("decode.decoder=\"vaapi\"", "Pipeline field 'decode.decoder' = \"vaapi\" is invalid: it must be auto, cpu or cuda.")]
    [InlineData("encoder.device=\"gpux\"", "Pipeline field 'encoder.device' = \"gpux\" is invalid: it must be cpu or cuda.")]
    [InlineData("encoder.device=1", "Pipeline field 'encoder.device' = \"1\" is invalid: it must be cpu or cuda.")]
    [InlineData("encoder.native_heap=\"mmap_threshold\"", "Pipeline field 'encoder.native_heap' = \"mmap_threshold\" is invalid: it must be reuse, threshold or system.")]
    public void Load_EnumSettingOutsideItsNames_NamesTheFieldTheValueAndEveryAcceptedName(string assignment, string message)
    {
        var error = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, [assignment]));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void ToJson_EnumSettings_AreWrittenByTheirFileNamesAndReadBackEqual()
    {
        var definition = PipelineDefinitionLoader.Load(null, ["encoder.native_heap=threshold", "decode.decoder=cpu", "encoder.device=cuda", "captions.dedup=words", "stages.cpu_turns=off"]);
        var path = Path.Combine(Path.GetTempPath(), $"videodata-roundtrip-{Guid.NewGuid():N}.json");
        try
        {
            var json = PipelineDefinitionLoader.ToJson(definition);
            Assert.Contains("\"native_heap\": \"threshold\"", json, StringComparison.Ordinal);
            Assert.Contains("\"cpu_turns\": \"off\"", json, StringComparison.Ordinal);
            File.WriteAllText(path, json);

            var reread = PipelineDefinitionLoader.Load(path, []);

            Assert.Equal(
                (definition.Encoder.NativeHeap, definition.Decode.Decoder, definition.Encoder.Device, definition.Captions.Dedup, definition.Stages.CpuTurns),
                (reread.Encoder.NativeHeap, reread.Decode.Decoder, reread.Encoder.Device, reread.Captions.Dedup, reread.Stages.CpuTurns));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_NativeHeap_DefaultsToReuseAndRejectsUnknownPolicies()
    {
        Assert.Equal(NativeHeapPolicy.Reuse, PipelineDefinitionLoader.Load(null, []).Encoder.NativeHeap);
        Assert.Equal(NativeHeapPolicy.MmapThreshold, PipelineDefinitionLoader.Load(null, ["encoder.native_heap=threshold"]).Encoder.NativeHeap);
        var error = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, ["encoder.native_heap=jemalloc"]));
        Assert.Contains("encoder.native_heap", error.Message, StringComparison.Ordinal);
        Assert.Contains("must be reuse, threshold or system", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FeaturesCommandSettings_DefaultToTheReferenceAndRejectBadValuesByName()
    {
        var defaults = PipelineDefinitionLoader.Load(null, []);
        Assert.False(defaults.Encoder.Mixed5c);
        Assert.Equal(FeatureDtype.Float16, defaults.Encoder.FeatureDtype);
        Assert.Equal(1, defaults.VideosPerRowGroup);
        Assert.Equal(0, defaults.Encoder.CudaDevice);

        var set = PipelineDefinitionLoader.Load(null, ["encoder.mixed_5c=true", "encoder.feature_dtype=float32", "encoder.device=cuda", "encoder.cuda_device=1"]);
        Assert.True(set.Encoder.Mixed5c);
        Assert.Equal(FeatureDtype.Float32, set.Encoder.FeatureDtype);
        Assert.Equal(EncoderDevice.Cuda, set.Encoder.Device);
        Assert.Equal("cuda:1", LibraryOptions.ForEncoder(set).Device);
        Assert.True(LibraryOptions.ForEncoder(set).IncludeMixed5c);

        var dtype = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, ["encoder.feature_dtype=bfloat16"]));
        Assert.Contains("'encoder.feature_dtype' = \"bfloat16\"", dtype.Message, StringComparison.Ordinal);
        var perGroup = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, ["videos_per_row_group=16"]));
        Assert.Contains("'videos_per_row_group' = 16", perGroup.Message, StringComparison.Ordinal);
        Assert.Contains("not supported", perGroup.Message, StringComparison.Ordinal);
        Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, ["encoder.device=cuda:1"]));
        var ordinal = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, ["encoder.cuda_device=-1"]));
        Assert.Contains("'encoder.cuda_device' = -1", ordinal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CpuTurns_AutoTakesTurnsOnlyForACpuEncoder()
    {
        var auto = PipelineDefinitionLoader.Load(null, []);
        Assert.Equal(CpuTurnsMode.Auto, auto.Stages.CpuTurns);
        Assert.True(auto.Stages.TakesCpuTurns(EncoderDevice.Cpu));
        Assert.False(auto.Stages.TakesCpuTurns(EncoderDevice.Cuda));
        Assert.True(PipelineDefinitionLoader.Load(null, ["stages.cpu_turns=on"]).Stages.TakesCpuTurns(EncoderDevice.Cuda));
        Assert.False(PipelineDefinitionLoader.Load(null, ["stages.cpu_turns=off"]).Stages.TakesCpuTurns(EncoderDevice.Cpu));
        var error = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, ["stages.cpu_turns=sometimes"]));
        Assert.Contains("stages.cpu_turns", error.Message, StringComparison.Ordinal);
        Assert.Contains("must be auto, on or off", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownField_IsRejected()
    {
        var error = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, ["decode.fsp=30"]));

        Assert.Contains("fsp", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_NamesIt()
    {
        var error = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load("/nonexistent/p.json", []));

        Assert.Contains("/nonexistent/p.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToJson_RoundTripsThroughLoad()
    {
        var original = PipelineDefinitionLoader.Load(Path.Combine(RepoPaths.Root, "pipelines", "howto100m.json"), ["decode.threads=4"]);
        var path = Path.Combine(Path.GetTempPath(), $"videodata-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, PipelineDefinitionLoader.ToJson(original));
        try
        {
            Assert.Equal(original, PipelineDefinitionLoader.Load(path, []), new DefinitionComparer());
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class DefinitionComparer : IEqualityComparer<PipelineDefinition>
    {
        public bool Equals(PipelineDefinition? x, PipelineDefinition? y) =>
            PipelineDefinitionLoader.ToJson(x!) == PipelineDefinitionLoader.ToJson(y!);

        public int GetHashCode(PipelineDefinition obj) => 0;
    }
}
