using System.Text;
using System.Text.Json;
using Amazon.S3.Model;
using VideoData.Pipeline.Status;
using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Retrieval;
using VideoData.Storage.Sharding;
using VideoData.Testing.S3;

namespace VideoData.Cli.Tests.Commands;

/// <summary><c>videodata ls</c> and <c>videodata shards plan</c>, run as the real program.</summary>
public sealed class StorageCommandsTests : IClassFixture<S3ServerFixture>, IDisposable
{
    private readonly S3ServerFixture _s3;
    private readonly string _folder = Directory.CreateTempSubdirectory("videodata-cli-storage-").FullName;

    public StorageCommandsTests(S3ServerFixture s3) => _s3 = s3;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private Dictionary<string, string?> S3Environment() => _s3.ProgramEnvironment();

    [Fact]
    public async Task Ls_S3Prefix_ListsObjectsWithSizes()
    {
        var bucket = await _s3.CreateBucketAsync("cli-ls");
        foreach (var (key, size) in new[] { ("videos/a.mp4", 10), ("videos/b.mp4", 2000), ("captions/a.vtt", 5) })
        {
            await _s3.Client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = new MemoryStream(new byte[size]), UseChunkEncoding = false });
        }

        var result = await CliRunner.RunAsync(S3Environment(), "ls", $"s3://{bucket}/videos/", "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([$"s3://{bucket}/videos/a.mp4", $"s3://{bucket}/videos/b.mp4"], lines.Select(l => l.GetProperty("uri").GetString()));
        Assert.Equal([10L, 2000L], lines.Select(l => l.GetProperty("size").GetInt64()));

        var table = await CliRunner.RunAsync(S3Environment(), "ls", $"s3://{bucket}/");
        Assert.Contains("3 objects, 2015 bytes", table.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cluster_OutAndWriteEmbeddingsAreS3Objects_WritesWhatALocalRunWrites()
    {
        var bucket = await _s3.CreateBucketAsync("cli-cluster");
        var videos = SyntheticCorpus.Generate(new SyntheticCorpusOptions { Videos = 8, FeatureDim = 16, MinSeconds = 3, MaxSeconds = 5, Seed = 3 }).ToList();
        var shards = Path.Combine(_folder, "shards");
        await SyntheticShards.WriteAsync(videos, shards, videosPerShard: 8);
        var localPlan = Path.Combine(_folder, "plan.parquet");
        var localEmbeddings = Path.Combine(_folder, "embeddings.parquet");
        string[] Arguments(string plan, string embeddings) => ["cluster", "--from-features", shards, "--out", plan, "--write-embeddings", embeddings, "--batch-videos", "4", "--k", "3", "--epoch", "2", "--json"];

        var local = await CliRunner.RunAsync(null, Arguments(localPlan, localEmbeddings));
        var remote = await CliRunner.RunAsync(S3Environment(), Arguments($"s3://{bucket}/run/plans/epoch-0002.parquet", $"s3://{bucket}/run/embeddings.parquet"));

        Assert.True(local.ExitCode == 0, local.Stderr);
        Assert.True(remote.ExitCode == 0, remote.Stderr);
        Assert.Equal($"s3://{bucket}/run/plans/epoch-0002.parquet", JsonDocument.Parse(remote.Stdout).RootElement.GetProperty("plan").GetString());
        var remotePlan = await DownloadAsync(bucket, "run/plans/epoch-0002.parquet", "remote-plan.parquet");
        var remoteEmbeddings = await DownloadAsync(bucket, "run/embeddings.parquet", "remote-embeddings.parquet");
        var expected = await BatchPlan.ReadAsync(localPlan);
        var actual = await BatchPlan.ReadAsync(remotePlan);
        Assert.Equal(2, actual.Epoch);
        Assert.Equal(expected.Batches, actual.Batches);
        Assert.Equal((await EmbeddingsFile.ReadAsync(localEmbeddings)).Vectors.ToArray(), (await EmbeddingsFile.ReadAsync(remoteEmbeddings)).Vectors.ToArray());
        var keys = (await _s3.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket })).S3Objects.Select(o => o.Key).Order(StringComparer.Ordinal);
        Assert.Equal(["run/embeddings.parquet", "run/plans/epoch-0002.parquet"], keys);
    }

    [Fact]
    public async Task Cluster_OutIsABucketNotAnObject_ExitsWithUsageErrorNamingIt()
    {
        var result = await CliRunner.RunAsync(S3Environment(), "cluster", "--embeddings", Path.Combine(_folder, "missing.parquet"), "--out", "s3://some-bucket/plans/");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'s3://some-bucket/plans/' names a folder or bucket, not an object", result.Stderr, StringComparison.Ordinal);
    }

    private async Task<string> DownloadAsync(string bucket, string key, string name)
    {
        using var response = await _s3.Client.GetObjectAsync(bucket, key);
        var path = Path.Combine(_folder, name);
        await using (var file = File.Create(path))
        {
            await response.ResponseStream.CopyToAsync(file);
        }

        return path;
    }

    [Fact]
    public async Task Ls_BadLocation_ExitsNonZeroNamingTheInput()
    {
        var result = await CliRunner.RunAsync(null, "ls", "s3://Not_A_Bucket/x");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("videodata ls: s3://Not_A_Bucket/x: invalid location", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShardsPlan_RowOrderShuffled_PrintsTheSamePlan()
    {
        var ids = Enumerable.Range(0, 50).Select(i => $"vid{i:D3}").ToList();
        var a = await WriteManifestAsync("a.csv", ids);
        var b = await WriteManifestAsync("b.csv", ids.AsEnumerable().Reverse());

        var planA = await CliRunner.RunAsync(null, "shards", "plan", "--manifest", a, "--uri-template", "s3://corpus/videos/{video_id}.mp4", "--shard-size", "16", "--json", "--with-ids");
        var planB = await CliRunner.RunAsync(null, "shards", "plan", "--manifest", b, "--uri-template", "s3://corpus/videos/{video_id}.mp4", "--shard-size", "16", "--json", "--with-ids");

        Assert.True(planA.ExitCode == 0, planA.Stderr);
        var shardsA = JsonDocument.Parse(planA.Stdout).RootElement.GetProperty("shards");
        var shardsB = JsonDocument.Parse(planB.Stdout).RootElement.GetProperty("shards");
        // Hash buckets: ceil(50 / 16) = 4 shards; every video sits in the bucket its own id gives, whatever the other ids.
        Assert.Equal([0, 1, 2, 3], shardsA.EnumerateArray().Select(s => s.GetProperty("id").GetInt32()));
        Assert.All(shardsA.EnumerateArray(), s => Assert.All(s.GetProperty("video_ids").EnumerateArray(), v => Assert.Equal(s.GetProperty("id").GetInt32(), ShardPlanner.BucketOf(v.GetString()!, 4))));
        Assert.Equal(50, shardsA.EnumerateArray().Sum(s => s.GetProperty("videos").GetInt32()));
        Assert.Equal(shardsA.GetRawText(), shardsB.GetRawText());
        Assert.Equal(ids.Order(StringComparer.Ordinal), shardsA.EnumerateArray().SelectMany(s => s.GetProperty("video_ids").EnumerateArray().Select(v => v.GetString()!)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ShardsPlan_UnderSlurmArray_ShowsOnlyThisWorkersShards()
    {
        var manifest = await WriteManifestAsync("m.csv", Enumerable.Range(0, 40).Select(i => $"v{i:D2}"));
        var env = new Dictionary<string, string?> { ["SLURM_ARRAY_TASK_ID"] = "1", ["SLURM_ARRAY_TASK_COUNT"] = "3" };

        var result = await CliRunner.RunAsync(env, "shards", "plan", "--manifest", manifest, "--uri-template", "videos/{video_id}.mp4", "--root", _folder, "--shard-size", "5", "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var plan = JsonDocument.Parse(result.Stdout).RootElement;
        Assert.Equal(8, plan.GetProperty("shard_count").GetInt32());
        Assert.Equal([1, 4, 7], plan.GetProperty("shards").EnumerateArray().Select(s => s.GetProperty("id").GetInt32()));
    }

    [Fact]
    public async Task ShardsPlan_WithAnOutput_UsesTheBucketCountItsPlanRecorded()
    {
        var manifest = await WriteManifestAsync("grown.csv", Enumerable.Range(0, 40).Select(i => $"v{i:D2}"));
        var output = Path.Combine(_folder, "out");
        Directory.CreateDirectory(output);
        // The output was created when the corpus had 9 videos at shard size 3: 3 buckets, kept for every later run.
        var recorded = ShardPlanFile.From(ShardPlanner.PlanBuckets(Enumerable.Range(0, 9).Select(i => $"v{i:D2}"), 3), "old.csv", 3, DateTimeOffset.UnixEpoch);
        await File.WriteAllBytesAsync(Path.Combine(output, ShardPlanFile.Key), recorded.ToJson());

        var withOutput = await CliRunner.RunAsync(null, "shards", "plan", "--manifest", manifest, "--uri-template", "videos/{video_id}.mp4", "--root", _folder, "--shard-size", "5", "--output", output, "--json");
        var fresh = await CliRunner.RunAsync(null, "shards", "plan", "--manifest", manifest, "--uri-template", "videos/{video_id}.mp4", "--root", _folder, "--shard-size", "5", "--json");

        Assert.True(withOutput.ExitCode == 0, withOutput.Stderr);
        Assert.Equal(3, JsonDocument.Parse(withOutput.Stdout).RootElement.GetProperty("shard_count").GetInt32());
        Assert.Contains("as recorded in", withOutput.Stderr, StringComparison.Ordinal);
        Assert.Equal(8, JsonDocument.Parse(fresh.Stdout).RootElement.GetProperty("shard_count").GetInt32());
    }

    [Fact]
    public async Task ShardsPlan_InvalidManifest_ListsTheProblemsAndExits2()
    {
        var manifest = Path.Combine(_folder, "bad.csv");
        await File.WriteAllTextAsync(manifest, "video_id,uri\nok1,videos/ok.mp4\nbad/id,videos/x.mp4\nok1,videos/dup.mp4\nok2,../escape.mp4\n");

        var result = await CliRunner.RunAsync(null, "shards", "plan", "--manifest", manifest, "--root", _folder);

        Assert.Equal(2, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"videodata shards plan: {manifest}: invalid manifest: 3 problems", lines[0]);
        Assert.Contains("row 2 (video 'bad/id')", lines[1], StringComparison.Ordinal);
        Assert.Contains("duplicate video id (first at row 1)", lines[2], StringComparison.Ordinal);
        Assert.Contains("may not leave it", lines[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShardsPlan_MissingManifest_SaysFetch()
    {
        var result = await CliRunner.RunAsync(null, "shards", "plan", "--manifest", Path.Combine(_folder, "none.csv"), "--uri-template", "v/{video_id}.mp4");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("none.csv: fetch:", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("not found", result.Stderr, StringComparison.Ordinal);
    }

    private async Task<string> WriteManifestAsync(string name, IEnumerable<string> ids)
    {
        var text = new StringBuilder("video_id,category_1,category_2,rank,task_id\n");
        foreach (var id in ids)
        {
            text.Append($"{id},Food and Entertaining,Recipes,1,100\n");
        }

        var path = Path.Combine(_folder, name);
        await File.WriteAllTextAsync(path, text.ToString());
        return path;
    }
}
