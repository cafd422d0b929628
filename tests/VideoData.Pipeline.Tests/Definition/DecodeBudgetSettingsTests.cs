using VideoData.Media.Decode;
using VideoData.Pipeline.Definition;

namespace VideoData.Pipeline.Tests.Definition;

/// <summary>The per-video budgets of issue 18 as pipeline settings: defaults, overrides, and refusals naming the field.</summary>
public class DecodeBudgetSettingsTests
{
    [Fact]
    public void Load_Defaults_AreTheDecoderDefaults()
    {
        var decode = PipelineDefinitionLoader.Load(null, []).Decode;

        Assert.Equal(DecodeOptions.DefaultFormatWhitelist, decode.FormatWhitelist);
        Assert.Equal(64, decode.MinBytesPerSecond);
        Assert.Equal(3600, decode.MaxDecodeSeconds);
    }

    [Fact]
    public void Load_Overrides_SetTheWhitelistAndBudgets()
    {
        var decode = PipelineDefinitionLoader.Load(null, ["decode.format_whitelist=[\"mov\",\"ivf\"]", "decode.min_bytes_per_second=256", "decode.max_decode_seconds=90"]).Decode;

        Assert.Equal(["mov", "ivf"], decode.FormatWhitelist);
        Assert.Equal(256, decode.MinBytesPerSecond);
        Assert.Equal(90, decode.MaxDecodeSeconds);
    }

    [Theory]
    [InlineData("decode.format_whitelist=[]", "decode.format_whitelist")]
    [InlineData("decode.format_whitelist=[\"mov\",\"../x\"]", "decode.format_whitelist")]
    [InlineData("decode.min_bytes_per_second=0", "decode.min_bytes_per_second")]
    [InlineData("decode.max_decode_seconds=-1", "decode.max_decode_seconds")]
    public void Load_BadBudget_NamesTheField(string assignment, string field)
    {
        var error = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, [assignment]));

        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }
}
