using System.Text.Json;
using Amazon.S3.Model;
using VideoData.Testing.S3;

namespace VideoData.Cli.Tests.Commands;

/// <summary>
/// Settings precedence (flags and --set > environment > pipeline file) and the streams rule (standard output: the
/// result and machine-readable records only; standard error: what is written for people), through the real program.
/// </summary>
public sealed class SettingsAndStreamsTests : IClassFixture<S3ServerFixture>, IDisposable
{
    private readonly S3ServerFixture _s3;
    private readonly string _folder = Directory.CreateTempSubdirectory("videodata-cli-settings-").FullName;

    public SettingsAndStreamsTests(S3ServerFixture s3) => _s3 = s3;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task PreprocessPrintConfig_FileEnvironmentAndSet_FlagsBeatEnvironmentBeatsFile()
    {
        var pipeline = Path.Combine(_folder, "pipeline.json");
        File.WriteAllText(pipeline, """
            {
              "name": "from-file",
              "s3": { "endpoint_url": "http://file:1", "region": "eu-west-1", "force_path_style": false, "use_chunk_encoding": true,
                      "checksum_mode": "when_supported", "max_concurrency": 3, "part_size_mib": 6 }
            }
            """);
        var env = new Dictionary<string, string?>
        {
            ["VIDEODATA_S3_ENDPOINT"] = "http://env:2",
            ["AWS_REGION"] = "us-west-2",
            ["VIDEODATA_S3_PATH_STYLE"] = "true",
            ["VIDEODATA_S3_CHUNK_ENCODING"] = "false",
            ["VIDEODATA_S3_CHECKSUM"] = "when_required",
            ["VIDEODATA_S3_MAX_CONCURRENCY"] = "5",
            ["VIDEODATA_S3_PART_SIZE_MIB"] = "9",
        };

        var envOverFile = await CliRunner.RunAsync(env, "preprocess", "--pipeline", pipeline, "--print-config");
        var flagsOverEnv = await CliRunner.RunAsync(env, "preprocess", "--pipeline", pipeline, "--print-config",
            "--set", "s3.endpoint_url=http://flag:3", "--set", "s3.region=ap-south-1", "--set", "s3.force_path_style=false",
            "--set", "s3.use_chunk_encoding=true", "--set", "s3.checksum_mode=when_supported", "--set", "s3.max_concurrency=7", "--set", "s3.part_size_mib=12");

        Assert.True(envOverFile.ExitCode == 0, envOverFile.Stderr);
        Assert.True(flagsOverEnv.ExitCode == 0, flagsOverEnv.Stderr);
        using var fromEnv = JsonDocument.Parse(envOverFile.Stdout);
        using var fromFlags = JsonDocument.Parse(flagsOverEnv.Stdout);
        Assert.Equal("from-file", fromEnv.RootElement.GetProperty("name").GetString());
        Assert.Equal(["http://env:2", "us-west-2", "True", "False", "when_required", "5", "9"], S3(fromEnv.RootElement));
        Assert.Equal(["http://flag:3", "ap-south-1", "False", "True", "when_supported", "7", "12"], S3(fromFlags.RootElement));
    }

    [Fact]
    public async Task Preprocess_ShardCountFromSetFromSlurmAndFromFile_SetBeatsSlurmBeatsFile_JsonStdoutHasOnlyRecords()
    {
        var manifest = Path.Combine(_folder, "manifest.csv");
        File.WriteAllText(manifest, "video_id,uri\nonly,only.mp4\n");
        var pipeline = Path.Combine(_folder, "workers.json");
        File.WriteAllText(pipeline, """{ "shard_count": 5, "shard_size": 1 }""");
        var slurm = new Dictionary<string, string?> { ["SLURM_ARRAY_TASK_ID"] = "1", ["SLURM_ARRAY_TASK_COUNT"] = "2" };
        string[] Arguments(string output, params string[] extra) =>
            ["preprocess", "--pipeline", pipeline, "--manifest", manifest, "--output", Path.Combine(_folder, output), "--progress", "json", "--progress-interval", "0.2", .. extra];

        var fromSlurm = await CliRunner.RunAsync(slurm, Arguments("a"));
        var fromSet = await CliRunner.RunAsync(slurm, Arguments("b", "--set", "shard_count=3"));

        Assert.Equal("1/2", Summary(fromSlurm).GetProperty("worker").GetString());
        Assert.Equal("1/3", Summary(fromSet).GetProperty("worker").GetString());
        // Log lines are for people: on standard error, as text, not among the JSON records.
        Assert.Contains("worker 1/3:", fromSet.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("worker 1/3:", fromSet.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("{", fromSet.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ls_S3FlagsAndEnvironment_FlagsWin()
    {
        var bucket = await _s3.CreateBucketAsync("precedence");
        await _s3.Client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "a/b.bin", ContentBody = "x", UseChunkEncoding = false });
        var env = new Dictionary<string, string?>
        {
            // Every S3 setting in the environment is wrong for s3rver (the endpoint has no server); the flags put each right.
            ["VIDEODATA_S3_ENDPOINT"] = $"http://127.0.0.1:{S3ServerFixture.FreeLoopbackPort()}",
            ["VIDEODATA_S3_PATH_STYLE"] = "false",
            ["VIDEODATA_S3_CHUNK_ENCODING"] = "true",
            ["VIDEODATA_S3_CHECKSUM"] = "when_supported",
            ["AWS_REGION"] = "not-a-region",
            ["AWS_ACCESS_KEY_ID"] = S3ServerFixture.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = S3ServerFixture.SecretKey,
        };

        var withFlags = await CliRunner.RunAsync(env, "ls", $"s3://{bucket}/a/", "--json", "--s3-endpoint", _s3.Endpoint.ToString(),
            "--s3-path-style", "true", "--s3-chunk-encoding", "false", "--s3-checksum", "when_required", "--s3-region", "us-east-1");

        Assert.True(withFlags.ExitCode == 0, withFlags.Stderr);
        var line = Assert.Single(withFlags.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var record = JsonDocument.Parse(line);
        Assert.Equal($"s3://{bucket}/a/b.bin", record.RootElement.GetProperty("uri").GetString());
    }

    /// <summary>Every line of standard output is one JSON object with an event; progress records come first, then one summary.</summary>
    private static JsonElement Summary(Testing.VideoDataCli.Result result)
    {
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        var records = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.NotEmpty(records);
        Assert.All(records[..^1], r => Assert.Equal("progress", r.GetProperty("event").GetString()));
        Assert.Equal("summary", records[^1].GetProperty("event").GetString());
        return records[^1];
    }

    private static string[] S3(JsonElement root)
    {
        var s3 = root.GetProperty("s3");
        return
        [
            s3.GetProperty("endpoint_url").GetString()!,
            s3.GetProperty("region").GetString()!,
            s3.GetProperty("force_path_style").GetBoolean().ToString(),
            s3.GetProperty("use_chunk_encoding").GetBoolean().ToString(),
            s3.GetProperty("checksum_mode").GetString()!,
            s3.GetProperty("max_concurrency").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture),
            s3.GetProperty("part_size_mib").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];
    }
}
