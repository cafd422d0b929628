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
/// <param name="Worker">Unique id of the worker process that published the shard (<see cref="WorkerIdentity.Id"/>); null in stats written before it was recorded.</param>
/// <param name="Host">Host name of that worker.</param>
/// <param name="StartedAt">When that worker started on the shard (UTC).</param>
/// <param name="FinishedAt">When it published the shard (UTC).</param>
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
    double WriteSeconds,
    string? Worker = null,
    string? Host = null,
    DateTimeOffset? StartedAt = null,
    DateTimeOffset? FinishedAt = null)
{
    /// <summary>Videos this run decoded and encoded for the shard (the others were settled by earlier runs).</summary>
    public int VideosProcessed { get; init; }

    /// <summary>The folder of stats files in an output.</summary>
    public const string Prefix = "stats/";

    /// <summary>Parses a stats file; <see cref="InvalidDataException"/> names <paramref name="source"/> and the problem.</summary>
    public static ShardStats Parse(ReadOnlySpan<byte> json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<ShardStats>(json, ShardLedger.JsonOptions) ?? throw new InvalidDataException($"Stats {source} is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Stats {source} is not valid shard stats: {ex.Message}", ex);
        }
    }

    /// <summary>The stats of a shard just published by this process: <paramref name="wall"/> ended at <paramref name="time"/>'s now.</summary>
    internal static ShardStats From(ShardLedger ledger, TimeSpan wall, PipelineProgress progress, TimeProvider? time = null)
    {
        var finished = (time ?? TimeProvider.System).GetUtcNow();
        return Counts(ledger, wall, progress) with { Worker = WorkerIdentity.Id, Host = WorkerIdentity.Host, StartedAt = finished - wall, FinishedAt = finished };
    }

    private static ShardStats Counts(ShardLedger ledger, TimeSpan wall, PipelineProgress progress) => new(
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
