using VideoData.Shards;
using VideoData.Storage.Sharding;

namespace VideoData.Training.Data;

/// <summary>Writes videos (e.g. a <see cref="SyntheticCorpus"/>) as feature shards, for benchmarks, demos and tests.</summary>
internal static class SyntheticShards
{
    /// <summary>
    /// Writes <paramref name="videos"/> to <paramref name="folder"/> as <c>shard-NNNNN.parquet</c> files of
    /// <paramref name="videosPerShard"/> videos each, in the layout <c>videodata preprocess</c> writes.
    /// Returns the shard paths.
    /// </summary>
    public static async Task<IReadOnlyList<string>> WriteAsync(
        IReadOnlyList<VideoRecord> videos,
        string folder,
        int videosPerShard,
        FeatureShardWriterOptions? writerOptions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(videos);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentOutOfRangeException.ThrowIfLessThan(videosPerShard, 1);
        Directory.CreateDirectory(folder);
        var lineage = new ShardLineage
        {
            Encoder = "synthetic",
            WeightsSha256 = new string('0', 64),
            Extra = new Dictionary<string, string> { ["videodata.synthetic"] = "features are a fixed function of the caption tokens" },
        };
        var paths = new List<string>();
        for (var first = 0; first < videos.Count; first += videosPerShard)
        {
            var path = Path.Combine(folder, ShardPlanner.ShardName(paths.Count) + ".parquet");
            var writer = FeatureShardWriter.CreateFile(path, lineage, writerOptions);
            await using (writer.ConfigureAwait(false))
            {
                foreach (var video in videos.Skip(first).Take(videosPerShard))
                {
                    await writer.AddAsync(
                        new FeatureRecord
                        {
                            VideoId = video.VideoId,
                            Duration = video.Seconds,
                            Seconds = video.Seconds,
                            Dim = video.FeatureDim,
                            Features = video.Features,
                            Captions = video.Segments.Select(s => new VideoData.Shards.CaptionSegment(s.Start, s.End, string.Empty, s.TokenIds)).ToArray(),
                        },
                        cancellationToken).ConfigureAwait(false);
                }

                await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }

            paths.Add(path);
        }

        return paths;
    }
}
