using VideoData.Pipeline.Ledger;

namespace VideoData.Pipeline.Commit;

/// <summary>
/// Where everything a preprocessing job writes lives, relative to its output location. Readers (and <c>videodata status</c>)
/// rely on these names:
/// <list type="bullet">
/// <item><c>plan.json</c>: the sharding plan the output was made under (<see cref="Status.ShardPlanFile"/>, which also holds the plan in brief that status reads).</item>
/// <item><c>ledger/shard-NNNNN.json</c>: the commit record of a shard; it names the shard's data file.</item>
/// <item><c>shards/shard-NNNNN-TAG.parquet</c>: immutable, uniquely named data files; the ledger names the current one.</item>
/// <item><c>stats/shard-NNNNN_stats.json</c>: stats of the shard's last publish.</item>
/// <item><c>leases/shard-NNNNN.json</c>: the lease of the worker on the shard, present only while one holds it.</item>
/// <item><c>_work/shard-NNNNN/seg-RUN-SEQ.parquet</c> and <c>.json</c>: committed segments not yet published.</item>
/// </list>
/// Temporary files follow one scheme: <c>.videodata-tmp-{target file name}-{guid}</c> beside their target (the local store's
/// atomic write); nothing else is written under a temporary name (see <see cref="StaleTempFiles"/>).
/// </summary>
internal static class OutputLayout
{
    public const string PlanKey = Status.ShardPlanFile.Key;

    public static string Name(int shardId) => ShardLedger.ShardName(shardId);

    public static string LedgerKey(int shardId) => ShardLedger.KeyOf(shardId);

    public static string StatsKey(int shardId) => $"stats/{Name(shardId)}_stats.json";

    public static string LeaseKey(int shardId) => Status.ShardLease.KeyOf(shardId);

    public static string WorkPrefix(int shardId) => $"_work/{Name(shardId)}/";

    /// <summary>Prefix of every data file of the shard, current or superseded: <c>shards/shard-NNNNN-</c>.</summary>
    public static string DataFilePrefix(int shardId) => $"shards/{Name(shardId)}-";

    public static string NewDataFileKey(int shardId) => $"{DataFilePrefix(shardId)}{Guid.NewGuid():N}.parquet";

    public static string SegmentDataKey(int shardId, string segment) => $"{WorkPrefix(shardId)}{segment}.parquet";

    public static string SegmentRecordKey(int shardId, string segment) => $"{WorkPrefix(shardId)}{segment}.json";

    /// <summary>Whether <paramref name="key"/> is a data file of <paramref name="shardId"/> (and not of shard 1234 when the id is 123).</summary>
    public static bool IsDataFileOf(string key, int shardId) =>
        key.StartsWith(DataFilePrefix(shardId), StringComparison.Ordinal) && key.EndsWith(".parquet", StringComparison.Ordinal)
        && key.Length == DataFilePrefix(shardId).Length + 32 + ".parquet".Length;
}
