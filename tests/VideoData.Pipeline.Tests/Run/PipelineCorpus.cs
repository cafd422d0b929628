using System.Text;
using Amazon.S3;
using Amazon.S3.Model;
using VideoData.Pipeline.Definition;
using VideoData.Pipeline.Demo;
using VideoData.Shards;

namespace VideoData.Pipeline.Tests.Run;

/// <summary>The demo corpus (real generated videos, captions in three formats, broken inputs), shared by the pipeline tests.</summary>
internal static class PipelineCorpus
{
    private static readonly Lazy<Task<DemoCorpusInfo>> s_local = new(() =>
        DemoCorpus.GenerateAsync(Path.Combine(Path.GetTempPath(), $"videodata-pipeline-corpus-{Environment.ProcessId}"), videos: 5, secondsPerVideo: 2));

    /// <summary>Five good videos (2 s each, one with unreadable captions) and four broken ones.</summary>
    public static Task<DemoCorpusInfo> LocalAsync() => s_local.Value;

    /// <summary>The failure class each broken video must be recorded with.</summary>
    public static readonly IReadOnlyDictionary<string, string> ExpectedFailures = new Dictionary<string, string>
    {
        ["broken_empty"] = "probe",
        ["broken_noise"] = "probe",
        ["broken_truncated"] = "probe",
        ["broken_missing"] = "fetch",
    };

    /// <summary>
    /// Settings small enough for a 2-core test run: S3D-G on 16 frames of 112×112 per second (the architecture
    /// accepts any even size; the real pipeline uses 30 × 224).
    /// </summary>
    public static PipelineDefinition Definition(string manifest, string output, params string[] extra) =>
        PipelineDefinitionLoader.Load(null, [
            $"manifest=\"{manifest}\"", $"output=\"{output}\"", "shard_size=4", "decode.fps=16", "decode.size=112", "decode.decoder=\"cpu\"",
            "decode.threads=1", "encoder.seconds_per_batch=4", "stages.decode_parallelism=2", "stages.decoded_seconds_capacity=8",
            "stages.encoded_videos_capacity=4", .. extra]);

    /// <summary>Uploads the corpus to <paramref name="bucket"/> and writes a manifest of s3:// URIs; returns the manifest URI.</summary>
    public static async Task<string> UploadAsync(IAmazonS3 client, string bucket, DemoCorpusInfo corpus)
    {
        foreach (var file in Directory.EnumerateFiles(corpus.Folder, "*", SearchOption.AllDirectories))
        {
            var key = "corpus/" + Path.GetRelativePath(corpus.Folder, file).Replace('\\', '/');
            await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, FilePath = file, UseChunkEncoding = false });
        }

        var manifest = new StringBuilder("video_id,uri,caption_uri\n");
        foreach (var line in File.ReadAllLines(corpus.Manifest).Skip(1))
        {
            var parts = line.Split(',');
            var caption = parts[2].Length > 0 ? $"s3://{bucket}/corpus/{parts[2]}" : string.Empty;
            manifest.Append($"{parts[0]},s3://{bucket}/corpus/{parts[1]},{caption}\n");
        }

        await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "corpus/manifest-s3.csv", ContentBody = manifest.ToString(), UseChunkEncoding = false });
        return $"s3://{bucket}/corpus/manifest-s3.csv";
    }

    /// <summary>Reads every shard under <paramref name="shardsFolder"/> into records keyed by video id.</summary>
    public static async Task<Dictionary<string, FeatureRecord>> ReadShardsAsync(string shardsFolder, string pattern = "*.parquet")
    {
        var records = new Dictionary<string, FeatureRecord>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(shardsFolder, pattern).Order(StringComparer.Ordinal))
        {
            await using var reader = await FeatureShardReader.OpenAsync(file);
            await foreach (var record in reader.ReadAllAsync())
            {
                Assert.True(records.TryAdd(record.VideoId, record), $"video {record.VideoId} appears in more than one shard row");
            }
        }

        return records;
    }

    /// <summary>Asserts two runs produced the same videos with the same seconds, captions and (to float tolerance) features.</summary>
    public static void AssertSameContent(IReadOnlyDictionary<string, FeatureRecord> expected, IReadOnlyDictionary<string, FeatureRecord> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (id, want) in expected)
        {
            var got = actual[id];
            Assert.Equal(want.Seconds, got.Seconds);
            Assert.Equal(want.Duration, got.Duration);
            Assert.Equal(want.Captions, got.Captions);
            Assert.Equal(want.Features.Length, got.Features.Length);
            // The same frames through the same weights; batches may group seconds differently after a resume,
            // which may change the last bits of a float32 convolution, never more.
            var worst = want.Features.Zip(got.Features, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= 2e-3f, $"{id}: features differ by up to {worst}");
        }
    }
}
