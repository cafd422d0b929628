using System.Text.Json;
using System.Text.Json.Serialization;
using VideoData.Core.Configuration;

namespace VideoData.Core.Tests.Configuration;

public sealed class SnakeCaseEnumConverterTests
{
    public enum Sample
    {
        Cpu,
        MmapThreshold,
        [JsonStringEnumMemberName("threshold2")]
        Renamed,
    }

    private sealed record Holder(Sample Value);

    [Theory]
    [InlineData(Sample.Cpu, "cpu")]
    [InlineData(Sample.MmapThreshold, "mmap_threshold")]
    [InlineData(Sample.Renamed, "threshold2")]
    public void RoundTrip_WritesTheSnakeCaseOrGivenNameAndReadsItBack(Sample value, string name)
    {
        var json = JsonSerializer.Serialize(new Holder(value), ConfigurationJson.Options);

        Assert.Contains($"\"value\": \"{name}\"", json, StringComparison.Ordinal);
        Assert.Equal(value, JsonSerializer.Deserialize<Holder>(json, ConfigurationJson.Options)!.Value);
    }

    [Theory]
    [InlineData("{\"value\": \"gpux\"}", "'gpux' is not one of cpu, mmap_threshold or threshold2")]
    [InlineData("{\"value\": \"Cpu\"}", "'Cpu' is not one of cpu, mmap_threshold or threshold2")]
    [InlineData("{\"value\": 1}", "'1' is not one of cpu, mmap_threshold or threshold2")]
    public void Read_ValueNamingNoMember_IsRefusedWithTheValueTheNamesAndThePath(string json, string message)
    {
        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Holder>(json, ConfigurationJson.Options));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.Equal("value", ConfigurationJson.FieldPath(error));
        var unknown = Assert.IsType<UnknownNameException>(error.InnerException);
        Assert.Equal(["cpu", "mmap_threshold", "threshold2"], unknown.Names);
    }

    [Fact]
    public void Options_AreShared_AndCannotBeChangedByOneCaller()
    {
        Assert.Throws<InvalidOperationException>(() => ConfigurationJson.Options.WriteIndented = false);
    }
}
