namespace VideoData.Pipeline.Commit;

/// <summary>The plan a shard's ledger was made under.</summary>
/// <param name="Rule">The sharding rule.</param>
/// <param name="BucketCount">Shards of the output.</param>
/// <param name="VideoIdsSha256">Digest of the ledger's video ids (<c>ShardPlanFile.Digest</c>).</param>
public sealed record ShardPlanInfo(string Rule, int BucketCount, string VideoIdsSha256);
