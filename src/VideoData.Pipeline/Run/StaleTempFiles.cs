using VideoData.Core.IO;
using VideoData.Pipeline.Commit;
using VideoData.Pipeline.Ledger;

namespace VideoData.Pipeline.Run;

/// <summary>
/// <b>I5: nothing is left behind.</b> Every temporary name the pipeline makes follows one scheme: the local store's
/// <c>.videodata-tmp-{target file name}-{guid}</c> beside the target it is renamed onto (segments are built in memory and
/// shards are assembled straight into the store, so nothing proportional to a shard goes to <c>/tmp</c>). When a worker takes
/// a shard's lease it removes the leftovers of that scheme for that shard only: in its work folder and those naming the shard
/// in <c>shards/</c>, <c>ledger/</c>, <c>stats/</c> and <c>leases/</c>; plus the <c>/tmp</c> rebuild files of earlier versions.
/// Other shards' files are never touched: their workers may be writing them. Committed-but-unpublished work, superseded data
/// files and published segments are not temporary: <see cref="ResumeState"/> and <see cref="ShardPublisher.CleanUpAsync"/> deal
/// with those, on S3 as on a folder. On S3 an object appears only when its PUT or multipart upload completes (an abandoned
/// multipart upload is invisible; a bucket lifecycle rule reclaims it).
/// </summary>
internal static class StaleTempFiles
{
    private const string StorePrefix = OutputFile.TemporaryPrefix;

    /// <summary>Deletes this shard's leftovers; <paramref name="localRoot"/> is the output folder (null for S3). Returns how many.</summary>
    public static int Sweep(string? localRoot, string outputRoot, int shardId)
    {
        var name = ShardLedger.ShardName(shardId);
        var removed = DeleteMatching(Path.GetTempPath(), LegacyPublishTempPrefix(outputRoot, shardId) + "*.parquet");
        if (localRoot is null)
        {
            return removed;
        }

        removed += DeleteMatching(Path.Combine(localRoot, "_work", name), StorePrefix + "*");
        foreach (var folder in new[] { "shards", "ledger", "stats", "leases" })
        {
            // "shard-00012-…" and "shard-00012.…", "shard-00012_stats…": never shard-000123's files.
            removed += DeleteMatching(Path.Combine(localRoot, folder), $"{StorePrefix}{name}-*");
            removed += DeleteMatching(Path.Combine(localRoot, folder), $"{StorePrefix}{name}.*");
            removed += DeleteMatching(Path.Combine(localRoot, folder), $"{StorePrefix}{name}_*");
        }

        return removed;
    }

    /// <summary>Removes the shard's work folder (and <c>_work</c>) when they are empty.</summary>
    public static void RemoveEmptyWorkFolder(string localRoot, int shardId)
    {
        foreach (var folder in new[] { Path.Combine(localRoot, "_work", ShardLedger.ShardName(shardId)), Path.Combine(localRoot, "_work") })
        {
            try
            {
                if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any())
                {
                    Directory.Delete(folder);
                }
            }
            catch (IOException)
            {
                // Another worker wrote into it in the meantime: it is not ours to remove.
            }
        }
    }

    // Earlier versions rebuilt a shard in {temp}/videodata-{hash of output}-{shard}-{guid}.parquet.
    private static string LegacyPublishTempPrefix(string outputRoot, int shardId) =>
        $"videodata-{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(outputRoot)))[..12]}-{ShardLedger.ShardName(shardId)}-";

    private static int DeleteMatching(string folder, string pattern)
    {
        if (!Directory.Exists(folder))
        {
            return 0;
        }

        var removed = 0;
        foreach (var file in Directory.EnumerateFiles(folder, pattern, SearchOption.TopDirectoryOnly))
        {
            try
            {
                File.Delete(file);
                removed++;
            }
            catch (IOException)
            {
                // Gone already (another cleanup got there first): nothing left to do.
            }
        }

        return removed;
    }
}
