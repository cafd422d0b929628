using System.Globalization;
using System.Reflection;

namespace VideoData.Shards;

/// <summary>How feature values are stored in a shard.</summary>
public enum FeatureStorage
{
    /// <summary>
    /// Values rounded to float16 precision (as the reference stores them) but written as float32, so
    /// every Parquet reader gets plain floats. The default.
    /// </summary>
    Float16Rounded,

    /// <summary>Full float32 values.</summary>
    Float32,
}

/// <summary>
/// What produced a shard's features, written as key/value metadata (keys <c>videodata.*</c>) so a
/// reader can tell shards from different encoders, weights or settings apart.
/// </summary>
public sealed record ShardLineage
{
    /// <summary>The encoder, e.g. <c>s3d-g</c>.</summary>
    public string Encoder { get; init; } = "s3d-g";

    /// <summary>Content hash of the weights (the encoder's <c>StateDict.Sha256</c>, in VideoData.Features).</summary>
    public required string WeightsSha256 { get; init; }

    /// <summary>Sampled frames per second of video.</summary>
    public int Fps { get; init; } = 30;

    /// <summary>Side of the square input frame, in pixels.</summary>
    public int FrameSize { get; init; } = 224;

    /// <summary>How frames were cropped, e.g. <c>shorter-side-224-center-crop</c>.</summary>
    public string Crop { get; init; } = "shorter-side-224-center-crop";

    /// <summary>Whether features were L2-normalized per second.</summary>
    public bool L2Normalized { get; init; } = true;

    /// <summary>The version of the tool that wrote the shard.</summary>
    public string ToolVersion { get; init; } = DefaultToolVersion;

    /// <summary>Further key/value pairs to record (keys are written as given).</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    /// <summary>This assembly's informational version.</summary>
    public static string DefaultToolVersion { get; } =
        typeof(ShardLineage).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    internal Dictionary<string, string> ToMetadata(FeatureStorage storage)
    {
        var metadata = new Dictionary<string, string>(Extra, StringComparer.Ordinal)
        {
            [FeatureShardFormat.FormatKey] = FeatureShardFormat.FormatVersion,
            ["videodata.encoder"] = Encoder,
            ["videodata.weights_sha256"] = WeightsSha256,
            ["videodata.fps"] = Fps.ToString(CultureInfo.InvariantCulture),
            ["videodata.frame_size"] = FrameSize.ToString(CultureInfo.InvariantCulture),
            ["videodata.crop"] = Crop,
            ["videodata.feature_dtype"] = storage == FeatureStorage.Float16Rounded ? "float16-rounded-float32" : "float32",
            ["videodata.l2_normalized"] = L2Normalized ? "true" : "false",
            ["videodata.tool_version"] = ToolVersion,
            ["videodata.feature_layout"] = "features: list<float> of seconds*dim values, row-major [seconds, dim]; reshape(seconds, dim)",
        };
        return metadata;
    }
}
