namespace VideoData.Storage.Blobs;

/// <summary>
/// Counters of one store (or of every store of one <see cref="BlobStoreResolver"/>) since it was created,
/// for progress displays and run summaries.
/// </summary>
/// <param name="Requests">Requests sent (every attempt counts, retries included); for a local store, file operations.</param>
/// <param name="BytesRead">Payload bytes received.</param>
/// <param name="BytesWritten">Payload bytes sent (every attempt counts).</param>
/// <param name="Retries">Attempts that failed with a transient fault and were retried.</param>
/// <param name="Throttles">Faults that were throttling (HTTP 503 SlowDown, 429, throttling error codes).</param>
public sealed record StorageCountersSnapshot(long Requests, long BytesRead, long BytesWritten, long Retries, long Throttles)
{
    /// <summary>All counters zero.</summary>
    public static StorageCountersSnapshot Zero { get; } = new(0, 0, 0, 0, 0);

    /// <summary>The counter-wise sum of two snapshots.</summary>
    public static StorageCountersSnapshot operator +(StorageCountersSnapshot left, StorageCountersSnapshot right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        return new(left.Requests + right.Requests, left.BytesRead + right.BytesRead, left.BytesWritten + right.BytesWritten,
            left.Retries + right.Retries, left.Throttles + right.Throttles);
    }

    /// <summary>The counter-wise sum of two snapshots.</summary>
    public static StorageCountersSnapshot Add(StorageCountersSnapshot left, StorageCountersSnapshot right) => left + right;
}

/// <summary>Thread-safe counters behind <see cref="StorageCountersSnapshot"/>.</summary>
internal sealed class StorageCounters
{
    private long _requests;
    private long _bytesRead;
    private long _bytesWritten;
    private long _retries;
    private long _throttles;

    public void Request() => Interlocked.Increment(ref _requests);

    public void Read(long bytes) => Interlocked.Add(ref _bytesRead, bytes);

    public void Written(long bytes) => Interlocked.Add(ref _bytesWritten, bytes);

    public void Retry() => Interlocked.Increment(ref _retries);

    public void Throttle() => Interlocked.Increment(ref _throttles);

    public StorageCountersSnapshot Snapshot() => new(
        Interlocked.Read(ref _requests),
        Interlocked.Read(ref _bytesRead),
        Interlocked.Read(ref _bytesWritten),
        Interlocked.Read(ref _retries),
        Interlocked.Read(ref _throttles));
}
