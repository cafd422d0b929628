using System.Text.Json;
using VideoData.Pipeline.Ledger;
using VideoData.Storage.Blobs;

namespace VideoData.Pipeline.Run;

/// <summary>The <c>stats/shard-N_stats.json</c> written beside each published shard.</summary>
/// <param name="ShardId">The shard.</param>
/// <param name="Videos">Videos assigned to the shard.</param>
/// <param name="Done">Videos with features in the shard.</param>
/// <param name="Failed">Videos that failed.</param>
/// <param name="FailuresByClass">Failures per failure class.</param>
/// <param name="SecondsProcessed">Feature rows (seconds of video) in the shard.</param>
/// <param name="WallSeconds">Wall time this run spent on the shard.</param>
/// <param name="VideoSecondsPerSecond">Seconds of video per wall-clock second over the run so far.</param>
/// <param name="DecodeSeconds">Decode time so far in the run (summed over workers).</param>
/// <param name="EncodeSeconds">Encoder time so far in the run.</param>
/// <param name="WriteSeconds">Writer time so far in the run.</param>
public sealed record ShardStats(
    int ShardId,
    int Videos,
    int Done,
    int Failed,
    IReadOnlyDictionary<string, int> FailuresByClass,
    long SecondsProcessed,
    double WallSeconds,
    double VideoSecondsPerSecond,
    double DecodeSeconds,
    double EncodeSeconds,
    double WriteSeconds)
{
    /// <summary>Videos this run decoded and encoded for the shard (the others were settled by earlier runs).</summary>
    public int VideosProcessed { get; init; }

    internal static ShardStats From(ShardLedger ledger, TimeSpan wall, PipelineProgress progress) => new(
        ledger.ShardId,
        ledger.Videos.Count,
        ledger.Done.Count(),
        ledger.Failed.Count(),
        ledger.Failed.GroupBy(e => e.FailureClass ?? "unknown").OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
        ledger.Done.Sum(e => (long)e.Seconds),
        Math.Round(wall.TotalSeconds, 3),
        Math.Round(progress.VideoSecondsPerSecond, 3),
        Math.Round(progress.DecodeTime.TotalSeconds, 3),
        Math.Round(progress.EncodeTime.TotalSeconds, 3),
        Math.Round(progress.WriteTime.TotalSeconds, 3));

    internal async Task WriteAsync(IBlobStore store, string key, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(this, ShardLedger.JsonOptions));
        await store.WriteAsync(key, buffer, cancellationToken).ConfigureAwait(false);
    }
}
