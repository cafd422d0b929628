using System.Runtime.InteropServices;
using System.Text.Json;
using VideoData.Features.Weights;
using VideoData.Pipeline.Ledger;
using VideoData.Testing;

namespace VideoData.Pipeline.Tests.Run;

/// <summary>
/// The invariant the encoder keeps for the pipeline: a second whose features are NaN or infinite is never committed as
/// done; the video becomes a recorded failure (class encode) that names it and the second, and the run goes on.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class NonFiniteFeaturesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-nonfinite-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Preprocess_EncoderGivesNonFiniteFeatures_EachVideoIsARecordedEncodeFailureNamingTheSecond_NothingCommittedAsDone()
    {
        var corpus = await PipelineCorpus.LocalAsync();

        // Real S3D-G test weights whose conv1 kernel is 3e38: every lit pixel overflows to infinity (NaN a layer later), so
        // the real encoder produces non-finite features for every second of every video of the corpus.
        var weights = WeightsFile.Load(RepoPaths.RequireSharedTestData("s3d", "s3d_weights.safetensors"));
        var tensors = weights.Tensors.Select(t =>
        {
            if (t.Name != "conv1.conv1.weight")
            {
                return t;
            }

            var values = new float[t.ElementCount];
            Array.Fill(values, 3e38f);
            return new WeightTensor(t.Name, WeightDType.Float32, t.Shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        }).ToList();
        var overflowing = Path.Combine(_dir, "overflowing.safetensors");
        StateDictWriter.WriteSafetensors(overflowing, tensors);

        var output = Path.Combine(_dir, "out");
        var run = await VideoDataCli.RunAsync(null,
        [
            "preprocess", "--manifest", corpus.Manifest, "--output", output, "--progress", "json", "--weights", overflowing,
            "--set", "shard_size=9", "--set", "decode.fps=16", "--set", "decode.size=112", "--set", "decode.decoder=cpu", "--set", "decode.threads=1",
            "--set", "encoder.seconds_per_batch=4", "--set", "stages.decode_parallelism=2", "--set", "stages.decoded_seconds_capacity=8",
        ]);
        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);

        var ledger = JsonSerializer.Deserialize<ShardLedger>(await File.ReadAllTextAsync(Path.Combine(output, "ledger", "shard-00000.json")), ShardLedger.JsonOptions)!;
        var good = File.ReadAllLines(corpus.Manifest).Skip(1).Select(l => l.Split(',')[0]).Where(id => !corpus.BrokenVideos.Contains(id)).ToList();
        Assert.Equal(5, good.Count);
        Assert.Empty(ledger.Done);
        foreach (var id in good)
        {
            var entry = Assert.Single(ledger.Videos, v => v.VideoId == id);
            Assert.Equal("encode", entry.FailureClass);
            Assert.Contains($"Video '{id}'", entry.Message, StringComparison.Ordinal);
            Assert.Contains("second 0", entry.Message, StringComparison.Ordinal);
            Assert.Contains("non-finite", entry.Message, StringComparison.Ordinal);
        }

        // The broken inputs keep their own failure classes; the shard holds no row at all.
        foreach (var (id, failureClass) in PipelineCorpus.ExpectedFailures)
        {
            Assert.Equal(failureClass, Assert.Single(ledger.Videos, v => v.VideoId == id).FailureClass);
        }

        Assert.Empty(await PipelineCorpus.ReadShardsAsync(Path.Combine(output, "shards")));
        Assert.Contains("non-finite", run.Stderr, StringComparison.Ordinal);
    }
}
