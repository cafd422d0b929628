using System.Text.Json;
using System.Text.Json.Serialization;
using VideoData.Pipeline.Ledger;

namespace VideoData.Pipeline.Status;

/// <summary>
/// A worker's claim on a shard while it processes it: <c>OUTPUT/leases/shard-NNNNN.json</c>. The lease exists only
/// while a worker holds the shard and is removed when the worker releases it; the worker refreshes
/// <see cref="HeartbeatAt"/> while it works. A lease whose heartbeat is older than <see cref="StaleAfterSeconds"/> is
/// stale: its worker is presumed dead and another may take the shard over. Field names (snake_case in the file)
/// are the contract between the writers of leases and <c>videodata status</c>, which only reads them.
/// </summary>
/// <param name="ShardId">The shard held.</param>
/// <param name="Worker">Unique id of the worker process holding it.</param>
/// <param name="Host">Host name of that worker.</param>
/// <param name="Pid">Process id of that worker on <paramref name="Host"/>.</param>
/// <param name="AcquiredAt">When the worker took the shard (UTC).</param>
/// <param name="HeartbeatAt">When the worker last said it is alive (UTC).</param>
/// <param name="StaleAfterSeconds">Age of <paramref name="HeartbeatAt"/> beyond which the lease is stale.</param>
public sealed record ShardLease(
    int ShardId,
    string Worker,
    string? Host,
    int Pid,
    DateTimeOffset AcquiredAt,
    DateTimeOffset HeartbeatAt,
    int StaleAfterSeconds)
{
    /// <summary>The folder of lease files in an output.</summary>
    public const string Prefix = "leases/";

    /// <summary>The key of a shard's lease in the output store.</summary>
    public static string KeyOf(int shardId) => $"{Prefix}{ShardLedger.ShardName(shardId)}.json";

    /// <summary>Whether the lease's heartbeat is older than <see cref="StaleAfterSeconds"/> at <paramref name="now"/>.</summary>
    public bool IsStaleAt(DateTimeOffset now) => now - HeartbeatAt > TimeSpan.FromSeconds(StaleAfterSeconds);

    /// <summary>Parses a lease file; <see cref="InvalidDataException"/> names <paramref name="source"/> and the problem.</summary>
    public static ShardLease Parse(ReadOnlySpan<byte> json, string source)
    {
        ShardLease? lease;
        try
        {
            lease = JsonSerializer.Deserialize<ShardLease>(json, JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Lease {source} is not a valid lease: {ex.Message}", ex);
        }

        if (lease is null || string.IsNullOrWhiteSpace(lease.Worker) || lease.StaleAfterSeconds <= 0 || lease.HeartbeatAt == default)
        {
            throw new InvalidDataException($"Lease {source} lacks worker, heartbeat_at or a positive stale_after_seconds.");
        }

        return lease;
    }

    /// <summary>The lease as its file holds it (snake_case JSON).</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };
}
