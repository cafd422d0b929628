using VideoData.Pipeline.Ledger;

namespace VideoData.Pipeline.Run;

/// <summary>
/// Removes the temporary files a killed worker (SIGKILL, power loss) left behind for one shard of a local output: the
/// local store writes <c>.videodata-tmp-{target file name}-{guid}</c> beside each target before renaming it, and the
/// shard is rebuilt in <c>{temp}/videodata-{output}-{shard}-{guid}.parquet</c>. Only files that name this shard (or lie
/// in its own work folder) are touched, so workers of other shards, running in parallel on the same output, keep
/// their in-flight files. Shards are owned by one worker at a time (deterministic assignment), so any such file found
/// when a worker starts the shard is stale. On S3 nothing is needed: an object appears only when its PUT or multipart
/// upload completes (an abandoned multipart upload is invisible; a bucket lifecycle rule reclaims it).
/// </summary>
internal static class StaleTempFiles
{
    private const string StorePrefix = ".videodata-tmp-";

    /// <summary>The local file name the shard of <paramref name="outputRoot"/> is rebuilt in before it is published.</summary>
    public static string PublishTempPath(string outputRoot, int shardId) =>
        Path.Combine(Path.GetTempPath(), $"{PublishTempPrefix(outputRoot, shardId)}{Guid.NewGuid():N}.parquet");

    /// <summary>Deletes this shard's leftovers; <paramref name="localRoot"/> is the output folder (null for S3). Returns how many.</summary>
    public static int Sweep(string? localRoot, string outputRoot, int shardId)
    {
        var name = ShardLedger.ShardName(shardId);
        var removed = DeleteMatching(Path.GetTempPath(), PublishTempPrefix(outputRoot, shardId) + "*.parquet");
        if (localRoot is null)
        {
            return removed;
        }

        removed += DeleteMatching(Path.Combine(localRoot, "_work", name), StorePrefix + "*");
        removed += DeleteMatching(Path.Combine(localRoot, "shards"), $"{StorePrefix}{Path.GetFileName(ShardProcessor.ShardKey(shardId))}-*");
        removed += DeleteMatching(Path.Combine(localRoot, "ledger"), $"{StorePrefix}{Path.GetFileName(ShardLedger.KeyOf(shardId))}-*");
        removed += DeleteMatching(Path.Combine(localRoot, "stats"), $"{StorePrefix}{Path.GetFileName(ShardProcessor.StatsKey(shardId))}-*");
        return removed;
    }

    // Two jobs on one machine may both have a shard N: the output's identity keeps their local files apart.
    private static string PublishTempPrefix(string outputRoot, int shardId) =>
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
