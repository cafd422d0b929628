using System.Text.Json;
using System.Text.Json.Serialization;
using VideoData.Core.Failures;
using VideoData.Pipeline.Commit;
using VideoData.Storage.Blobs;
using VideoData.Storage.Sharding;

namespace VideoData.Pipeline.Ledger;

/// <summary>What happened to one video of a shard.</summary>
/// <param name="VideoId">The manifest's video id.</param>
/// <param name="Status"><c>done</c> or <c>failed</c>.</param>
/// <param name="FailureClass">For failures: fetch, probe, decode, timeout, encode or captions.</param>
/// <param name="Message">For failures: the error, naming the input.</param>
/// <param name="Attempts">How many runs have tried this video (1 on the first).</param>
/// <param name="Seconds">For done videos: feature rows written (one per second of video).</param>
public sealed record LedgerEntry(string VideoId, string Status, string? FailureClass, string? Message, int Attempts, int Seconds)
{
    /// <summary>Status of a video whose features are in the shard.</summary>
    public const string Done = "done";

    /// <summary>Status of a video that failed; it is in no shard.</summary>
    public const string Failed = "failed";

    /// <summary>A done entry.</summary>
    public static LedgerEntry Success(string videoId, int attempts, int seconds) => new(videoId, Done, null, null, attempts, seconds);

    /// <summary>A failed entry.</summary>
    public static LedgerEntry Failure(string videoId, FailureClass failureClass, string message, int attempts) =>
        new(videoId, Failed, failureClass.ToName(), message, attempts, 0);

    /// <summary>Whether this is a done entry.</summary>
    [JsonIgnore]
    public bool IsDone => Status == Done;
}

/// <summary>
/// The ledger of one shard (DESIGN §4): every video assigned to the shard, done or failed with its class
/// and message. It is the shard's commit record: written last, in one conditional write, it names the shard's
/// immutable data file (<see cref="DataFile"/>), so a reader that follows it always finds exactly the videos it
/// lists as done in the file it names (invariant I2). <c>ledger/shard-00000.json</c>; every video of the shard appears
/// in exactly one entry.
/// </summary>
public sealed record ShardLedger(int ShardId, IReadOnlyList<LedgerEntry> Videos)
{
    /// <summary>The plan the shard was made under (rule, bucket count, digest of <see cref="Videos"/>' ids); null in ledgers of earlier versions.</summary>
    public ShardPlanInfo? Plan { get; init; }

    /// <summary>The key of the shard's data file relative to the output (<c>shards/shard-00000-TAG.parquet</c>); null in ledgers of earlier versions.</summary>
    public string? DataFile { get; init; }

    /// <summary>The work segments this publish took in; a later run deletes any of them it still finds.</summary>
    public IReadOnlyList<string>? Segments { get; init; }

    /// <summary>The worker that published (see the lease's <c>worker</c>).</summary>
    public string? Worker { get; init; }

    /// <summary>When it was published (ISO-8601 UTC).</summary>
    public string? PublishedAt { get; init; }

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    /// <summary>The key of a shard's ledger in the output store.</summary>
    public static string KeyOf(int shardId) => $"ledger/{ShardName(shardId)}.json";

    /// <summary>The name shards are known by in files and logs, <c>shard-00042</c> (the one rule, <see cref="ShardPlanner.ShardName"/>).</summary>
    public static string ShardName(int shardId) => ShardPlanner.ShardName(shardId);

    /// <summary>Done entries.</summary>
    [JsonIgnore]
    public IEnumerable<LedgerEntry> Done => Videos.Where(v => v.IsDone);

    /// <summary>Failed entries.</summary>
    [JsonIgnore]
    public IEnumerable<LedgerEntry> Failed => Videos.Where(v => !v.IsDone);

    /// <summary>Reads a shard's ledger, or null when the shard has none yet.</summary>
    public static async Task<ShardLedger?> ReadAsync(IBlobStore store, int shardId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var key = KeyOf(shardId);
        if (!await store.ExistsAsync(key, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var stream = await store.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                return await JsonSerializer.DeserializeAsync<ShardLedger>(stream, JsonOptions, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidDataException($"Ledger {store.UriOf(key)} is empty.");
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"Ledger {store.UriOf(key)} is not a valid ledger: {ex.Message}", ex);
            }
        }
    }

    /// <summary>Reads a shard's ledger with its store version (for a later conditional commit), or null when it has none.</summary>
    internal static async Task<(ShardLedger Ledger, string Version)?> ReadVersionedAsync(IBlobStore store, int shardId, CancellationToken cancellationToken)
    {
        var key = KeyOf(shardId);
        if (await store.ReadVersionedAsync(key, cancellationToken).ConfigureAwait(false) is not { } blob)
        {
            return null;
        }

        try
        {
            var ledger = JsonSerializer.Deserialize<ShardLedger>(blob.Content, JsonOptions) ?? throw new InvalidDataException($"Ledger {store.UriOf(key)} is empty.");
            return (ledger, blob.Version);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Ledger {store.UriOf(key)} is not a valid ledger: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Commits this ledger only if the stored one is still <paramref name="expectedVersion"/> (null: only if there is none).
    /// Returns false when another writer committed in between.
    /// </summary>
    internal async Task<bool> TryCommitAsync(IBlobStore store, string? expectedVersion, CancellationToken cancellationToken)
    {
        var content = JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);
        var version = expectedVersion is null
            ? await store.TryCreateAsync(KeyOf(ShardId), content, cancellationToken).ConfigureAwait(false)
            : await store.TryReplaceAsync(KeyOf(ShardId), content, expectedVersion, cancellationToken).ConfigureAwait(false);
        return version is not null;
    }

    /// <summary>Publishes this ledger atomically.</summary>
    public async Task WriteAsync(IBlobStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        using var buffer = new MemoryStream();
        await JsonSerializer.SerializeAsync(buffer, this, JsonOptions, cancellationToken).ConfigureAwait(false);
        buffer.Position = 0;
        await store.WriteAsync(KeyOf(ShardId), buffer, cancellationToken).ConfigureAwait(false);
    }
}
