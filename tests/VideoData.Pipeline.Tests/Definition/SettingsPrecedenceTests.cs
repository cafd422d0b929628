using VideoData.Pipeline.Definition;

namespace VideoData.Pipeline.Tests.Definition;

/// <summary>The command line's layering of settings: flags (and --set) > environment > pipeline file > defaults.</summary>
public sealed class SettingsPrecedenceTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("videodata-precedence-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Every S3 field: the file's value, the environment's, and the flag's, all different.</summary>
    public static TheoryData<string, string, string, string, string> S3Fields => new()
    {
        // field, variable, file value (JSON), environment value, flag value (JSON)
        { "s3.endpoint_url", "VIDEODATA_S3_ENDPOINT", "\"http://file.example:1\"", "http://env.example:2", "\"http://flag.example:3\"" },
        { "s3.region", "AWS_REGION", "\"eu-west-1\"", "us-west-2", "\"ap-south-1\"" },
        { "s3.force_path_style", "VIDEODATA_S3_PATH_STYLE", "false", "true", "false" },
        { "s3.use_chunk_encoding", "VIDEODATA_S3_CHUNK_ENCODING", "true", "false", "true" },
        { "s3.checksum_mode", "VIDEODATA_S3_CHECKSUM", "\"when_supported\"", "when_required", "\"when_supported\"" },
        { "s3.max_concurrency", "VIDEODATA_S3_MAX_CONCURRENCY", "3", "5", "7" },
        { "s3.part_size_mib", "VIDEODATA_S3_PART_SIZE_MIB", "6", "9", "12" },
    };

    [Theory]
    [MemberData(nameof(S3Fields))]
    public void Load_S3Field_FlagBeatsEnvironmentBeatsFile(string field, string variable, string fileValue, string envValue, string flagValue)
    {
        var file = WriteFile(field, fileValue);
        string? Env(string name) => name == variable ? envValue : null;

        var fromFile = PipelineDefinitionLoader.Load(file, _ => null, []);
        var fromEnv = PipelineDefinitionLoader.Load(file, Env, []);
        var fromFlag = PipelineDefinitionLoader.Load(file, Env, [$"{field}={flagValue}"]);

        Assert.Equal(Normalize(fileValue), Value(fromFile, field));
        Assert.Equal(Normalize(envValue), Value(fromEnv, field));
        Assert.Equal(Normalize(flagValue), Value(fromFlag, field));
    }

    [Fact]
    public void EnvironmentOverrides_EndpointAndRegion_VideoDataVariableFirstThenTheSdksOwn()
    {
        var env = new Dictionary<string, string>
        {
            ["AWS_ENDPOINT_URL"] = "http://global:1",
            ["AWS_ENDPOINT_URL_S3"] = "http://s3-specific:2",
            ["AWS_DEFAULT_REGION"] = "eu-central-1",
        };

        var sdkOnly = PipelineDefinitionLoader.Load(null, n => env.GetValueOrDefault(n), []);
        env["VIDEODATA_S3_ENDPOINT"] = "http://videodata:3";
        env["AWS_REGION"] = "us-west-1";
        var both = PipelineDefinitionLoader.Load(null, n => env.GetValueOrDefault(n), []);

        Assert.Equal("http://s3-specific:2", sdkOnly.S3.EndpointUrl);
        Assert.Equal("eu-central-1", sdkOnly.S3.Region);
        Assert.Equal("http://videodata:3", both.S3.EndpointUrl);
        Assert.Equal("us-west-1", both.S3.Region);
    }

    [Theory]
    [InlineData("VIDEODATA_S3_PATH_STYLE", "yes")]
    [InlineData("VIDEODATA_S3_MAX_CONCURRENCY", "many")]
    public void EnvironmentOverrides_BadValue_NamesTheVariable(string variable, string value)
    {
        var error = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, n => n == variable ? value : null, []));

        Assert.Contains(variable, error.Message, StringComparison.Ordinal);
        Assert.Contains(value, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnvironmentOverrides_BadChecksumFromTheEnvironment_FailsValidationNamingTheField()
    {
        var error = Assert.Throws<PipelineDefinitionException>(() => PipelineDefinitionLoader.Load(null, n => n == "VIDEODATA_S3_CHECKSUM" ? "sometimes" : null, []));

        Assert.Contains("s3.checksum_mode", error.Message, StringComparison.Ordinal);
    }

    private string WriteFile(string field, string value)
    {
        var path = Path.Combine(_folder, $"{field}.json");
        File.WriteAllText(path, $"{{ \"name\": \"precedence\", \"s3\": {{ \"{field["s3.".Length..]}\": {value} }} }}");
        return path;
    }

    private static string Normalize(string value) => value.Trim('"');

    private static string Value(PipelineDefinition d, string field) => field switch
    {
        "s3.endpoint_url" => d.S3.EndpointUrl!,
        "s3.region" => d.S3.Region!,
        "s3.force_path_style" => d.S3.ForcePathStyle ? "true" : "false",
        "s3.use_chunk_encoding" => d.S3.UseChunkEncoding ? "true" : "false",
        "s3.checksum_mode" => d.S3.ChecksumMode,
        "s3.max_concurrency" => d.S3.MaxConcurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "s3.part_size_mib" => d.S3.PartSizeMiB.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, "not an S3 field"),
    };
}
