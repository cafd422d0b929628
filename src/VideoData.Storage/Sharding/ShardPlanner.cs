using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace VideoData.Storage.Sharding;

/// <summary>One shard: a 0-based id and its videos in shard order.</summary>
/// <param name="Id">0-based shard id.</param>
/// <param name="VideoIds">The videos of the shard, in the planner's order.</param>
public sealed record Shard(int Id, IReadOnlyList<string> VideoIds)
{
    /// <summary>The shard's name, <c>shard-00042</c>.</summary>
    public string Name => ShardPlanner.ShardName(Id);
}

/// <summary>The shards of a corpus, from <see cref="ShardPlanner.Plan"/>.</summary>
/// <param name="ShardSize">Videos per shard (the last shard may have fewer).</param>
/// <param name="Shards">Shards in id order.</param>
public sealed record ShardPlan(int ShardSize, IReadOnlyList<Shard> Shards)
{
    /// <summary>Videos over all shards.</summary>
    public int VideoCount => Shards.Sum(s => s.VideoIds.Count);

    /// <summary>The shards worker <paramref name="slot"/> processes (<c>shardId % Count == Index</c>).</summary>
    public IEnumerable<Shard> ForWorker(WorkerSlot slot) => Shards.Where(s => ShardPlanner.IsAssigned(s.Id, slot));
}

/// <summary>
/// Deterministic assignment of videos to shards and of shards to workers. Other components and tools rely
/// on this exact rule, so it never changes:
/// <list type="number">
/// <item>Each video id is keyed by the first 8 bytes, read as a big-endian unsigned 64-bit integer, of the
/// SHA-256 of its UTF-8 bytes (<see cref="OrderKey"/>).</item>
/// <item>Videos are ordered by that key; equal keys (practically never) by ordinal comparison of the ids.</item>
/// <item>The ordered list is cut into consecutive shards of <c>shardSize</c> videos (default 4096); shard ids
/// are 0-based, named <c>shard-00000</c> (<see cref="ShardName"/>).</item>
/// <item>Worker <c>w</c> of <c>W</c> takes the shards whose id satisfies <c>id % W == w</c>.</item>
/// </list>
/// The result depends only on the set of ids and the shard size, never on manifest row order, worker count
/// or machine. Adding videos to a corpus can move videos between shards; a plan is for one manifest.
/// </summary>
public static class ShardPlanner
{
    /// <summary>Videos per shard unless configured: 4096, as in the reference feature shards.</summary>
    public const int DefaultShardSize = 4096;

    /// <summary>The sort key of a video id: the first 8 bytes (big-endian) of SHA-256 of its UTF-8 encoding.</summary>
    public static ulong OrderKey(string videoId)
    {
        ArgumentNullException.ThrowIfNull(videoId);
        var maxBytes = Encoding.UTF8.GetMaxByteCount(videoId.Length);
        Span<byte> utf8 = maxBytes <= 512 ? stackalloc byte[maxBytes] : new byte[maxBytes];
        var length = Encoding.UTF8.GetBytes(videoId, utf8);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..length], hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash);
    }

    /// <summary>Name of the hash-bucket rule of <see cref="PlanBuckets"/>, as ledgers and plan records store it.</summary>
    public const string BucketRule = "sha256-range-buckets-v1";

    /// <summary>
    /// The bucket of <paramref name="videoId"/> among <paramref name="bucketCount"/>: ⌊OrderKey · bucketCount / 2⁶⁴⌋, so bucket b
    /// holds the ids whose <see cref="OrderKey"/> lies in [b·2⁶⁴/B, (b+1)·2⁶⁴/B). It depends on the id and the count only.
    /// </summary>
    public static int BucketOf(string videoId, int bucketCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketCount, 1);
        return (int)(((UInt128)OrderKey(videoId) * (uint)bucketCount) >> 64);
    }

    /// <summary>
    /// Plans <paramref name="bucketCount"/> shards by hash bucket (<see cref="BucketOf"/>): unlike <see cref="Plan"/>'s consecutive
    /// cuts, a video's shard never depends on the other ids, so growing or shrinking the manifest moves no video between shards
    /// (new videos land in their buckets, removed ones leave theirs). Shard sizes vary around the mean. Every bucket is a shard,
    /// empty ones included, so shard ids are stable. Videos within a shard are in <see cref="OrderKey"/> order.
    /// </summary>
    public static ShardPlan PlanBuckets(IEnumerable<string> videoIds, int bucketCount)
    {
        ArgumentNullException.ThrowIfNull(videoIds);
        if (bucketCount < 1)
        {
            throw new ArgumentException($"Bucket count {bucketCount} is invalid: expected at least 1.", nameof(videoIds));
        }

        var keyed = videoIds.Select(id => (Key: OrderKey(id), Id: id)).ToArray();
        Array.Sort(keyed, static (a, b) => a.Key != b.Key ? a.Key.CompareTo(b.Key) : string.CompareOrdinal(a.Id, b.Id));
        var buckets = Enumerable.Range(0, bucketCount).Select(_ => new List<string>()).ToArray();
        for (var i = 0; i < keyed.Length; i++)
        {
            if (i > 0 && string.Equals(keyed[i].Id, keyed[i - 1].Id, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Duplicate video id '{keyed[i].Id}'; shard plans need unique ids.", nameof(videoIds));
            }

            buckets[(int)(((UInt128)keyed[i].Key * (uint)bucketCount) >> 64)].Add(keyed[i].Id);
        }

        var mean = (keyed.Length + bucketCount - 1) / bucketCount;
        return new ShardPlan(Math.Max(1, mean), buckets.Select((ids, id) => new Shard(id, ids)).ToList());
    }

    /// <summary>The bucket count for a new output: ⌈videos / shardSize⌉, at least 1.</summary>
    public static int BucketCountFor(int videoCount, int shardSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(videoCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(shardSize, 1);
        return Math.Max(1, (int)(((long)videoCount + shardSize - 1) / shardSize));
    }

    /// <summary>The shard's name: <c>shard-</c> and the id with at least five digits.</summary>
    public static string ShardName(int shardId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shardId);
        return $"shard-{shardId:D5}";
    }

    /// <summary>Whether worker <paramref name="slot"/> processes shard <paramref name="shardId"/>.</summary>
    public static bool IsAssigned(int shardId, WorkerSlot slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shardId);
        return shardId % slot.Count == slot.Index;
    }

    /// <summary>
    /// Plans the shards of <paramref name="videoIds"/>. Throws <see cref="ArgumentException"/> for a shard size
    /// below 1 or a duplicate id (manifests are validated before, so that is a caller bug).
    /// </summary>
    public static ShardPlan Plan(IEnumerable<string> videoIds, int shardSize = DefaultShardSize)
    {
        ArgumentNullException.ThrowIfNull(videoIds);
        if (shardSize < 1)
        {
            throw new ArgumentException($"Shard size {shardSize} is invalid: expected at least 1.", nameof(shardSize));
        }

        var keyed = videoIds.Select(id => (Key: OrderKey(id), Id: id)).ToArray();
        Array.Sort(keyed, static (a, b) => a.Key != b.Key ? a.Key.CompareTo(b.Key) : string.CompareOrdinal(a.Id, b.Id));
        for (var i = 1; i < keyed.Length; i++)
        {
            if (string.Equals(keyed[i].Id, keyed[i - 1].Id, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Duplicate video id '{keyed[i].Id}'; shard plans need unique ids.", nameof(videoIds));
            }
        }

        var shards = new List<Shard>((keyed.Length + shardSize - 1) / shardSize);
        for (var start = 0; start < keyed.Length; start += shardSize)
        {
            var count = Math.Min(shardSize, keyed.Length - start);
            var ids = new string[count];
            for (var i = 0; i < count; i++)
            {
                ids[i] = keyed[start + i].Id;
            }

            shards.Add(new Shard(shards.Count, ids));
        }

        return new ShardPlan(shardSize, shards);
    }
}
