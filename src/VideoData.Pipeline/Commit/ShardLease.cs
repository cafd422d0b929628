using System.Text.Json;
using VideoData.Pipeline.Ledger;
using VideoData.Storage.Blobs;

namespace VideoData.Pipeline.Commit;

/// <summary>The lease document at <c>leases/shard-NNNNN.json</c> (read by <c>videodata status</c>; these names are a contract).</summary>
/// <param name="ShardId">The shard.</param>
/// <param name="Worker">Unique id of the worker process.</param>
/// <param name="Host">The worker's host name.</param>
/// <param name="Pid">The worker's process id.</param>
/// <param name="AcquiredAt">When the worker took the lease (ISO-8601 UTC).</param>
/// <param name="HeartbeatAt">The worker's last heartbeat (ISO-8601 UTC).</param>
/// <param name="StaleAfterSeconds">A lease whose heartbeat is older than this is stale and may be taken over.</param>
public sealed record ShardLeaseRecord(int ShardId, string Worker, string Host, int Pid, string AcquiredAt, string HeartbeatAt, int StaleAfterSeconds);

/// <summary>Who this worker process is, in leases and ledgers.</summary>
internal sealed record WorkerIdentity(string Worker, string Host, int Pid)
{
    public static WorkerIdentity ForThisProcess()
    {
        var host = Environment.MachineName;
        return new WorkerIdentity($"{host}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}", host, Environment.ProcessId);
    }
}

/// <summary>
/// <b>I4: concurrent workers on the same shard cannot corrupt it.</b> A worker works on a shard only while it holds the
/// shard's lease: a small document created with a conditional create (local: under the folder's flock; S3:
/// <c>If-None-Match: *</c>), renewed every quarter of <see cref="ShardLeaseRecord.StaleAfterSeconds"/> with a conditional
/// replace on the version it last wrote (<c>If-Match</c>), and deleted (conditionally) on release. A second worker skips a
/// shard whose lease is alive and may take over one whose heartbeat is stale, again by a conditional replace on the stale
/// version, so of two workers taking over at once exactly one wins. A worker whose renewal fails has lost the lease: its
/// <see cref="Lost"/> token fires, it stops working on the shard and never publishes (the publish renews first, and the
/// ledger commit is itself conditional on the ledger version the worker started from, which a taker-over's publish changes).
/// </summary>
internal sealed class ShardLease : IAsyncDisposable
{
    private readonly IBlobStore _store;
    private readonly WorkerIdentity _identity;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _acquiredAt;
    private string _version;
    private DateTimeOffset _lastRenewal;
    private Task? _heartbeat;

    private ShardLease(IBlobStore store, int shardId, WorkerIdentity identity, TimeSpan staleAfter, TimeProvider time, Action<string> log, string version, string acquiredAt)
    {
        _store = store;
        ShardId = shardId;
        _identity = identity;
        StaleAfter = staleAfter;
        _time = time;
        _log = log;
        _version = version;
        _acquiredAt = acquiredAt;
        _lastRenewal = time.GetUtcNow();
    }

    public int ShardId { get; }

    public TimeSpan StaleAfter { get; }

    /// <summary>Fires when the lease is lost (taken over, deleted, or not renewed for <see cref="StaleAfter"/>).</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>
    /// Takes the shard's lease: creates it when there is none, takes it over when its heartbeat is stale. Returns null with
    /// the holder's record when another worker's lease is alive.
    /// </summary>
    public static async Task<(ShardLease? Lease, ShardLeaseRecord? Holder)> TryAcquireAsync(IBlobStore store, int shardId, WorkerIdentity identity, TimeSpan staleAfter, TimeProvider time, Action<string> log, CancellationToken cancellationToken)
    {
        var key = OutputLayout.LeaseKey(shardId);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var now = time.GetUtcNow();
            var record = new ShardLeaseRecord(shardId, identity.Worker, identity.Host, identity.Pid, now.ToString("O"), now.ToString("O"), (int)Math.Ceiling(staleAfter.TotalSeconds));
            var content = JsonSerializer.SerializeToUtf8Bytes(record, ShardLedger.JsonOptions);
            if (await store.TryCreateAsync(key, content, cancellationToken).ConfigureAwait(false) is { } created)
            {
                return (Start(new ShardLease(store, shardId, identity, staleAfter, time, log, created, record.AcquiredAt)), null);
            }

            if (await store.ReadVersionedAsync(key, cancellationToken).ConfigureAwait(false) is not { } current)
            {
                continue; // released between our create and read: try again
            }

            var holder = Parse(current.Content, store.UriOf(key));
            if (!IsStale(holder, now))
            {
                return (null, holder);
            }

            if (await store.TryReplaceAsync(key, content, current.Version, cancellationToken).ConfigureAwait(false) is { } taken)
            {
                log($"{OutputLayout.Name(shardId)}: took over the lease of worker {holder.Worker} (pid {holder.Pid} on {holder.Host}), whose last heartbeat was {holder.HeartbeatAt}");
                return (Start(new ShardLease(store, shardId, identity, staleAfter, time, log, taken, record.AcquiredAt)), null);
            }
        }

        // Lost every race: someone else holds it now.
        var latest = await store.ReadVersionedAsync(key, cancellationToken).ConfigureAwait(false);
        return (null, latest is null ? null : Parse(latest.Content, store.UriOf(key)));
    }

    /// <summary>Reads the shard's lease, or null when no worker holds it.</summary>
    public static async Task<ShardLeaseRecord?> ReadAsync(IBlobStore store, int shardId, CancellationToken cancellationToken) =>
        await store.ReadVersionedAsync(OutputLayout.LeaseKey(shardId), cancellationToken).ConfigureAwait(false) is { } blob
            ? Parse(blob.Content, store.UriOf(OutputLayout.LeaseKey(shardId)))
            : null;

    /// <summary>Whether the record's heartbeat is older than its stale_after_seconds at <paramref name="now"/>.</summary>
    public static bool IsStale(ShardLeaseRecord record, DateTimeOffset now) =>
        !DateTimeOffset.TryParse(record.HeartbeatAt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var beat)
        || now - beat > TimeSpan.FromSeconds(record.StaleAfterSeconds);

    /// <summary>
    /// Renews the lease now; true while this worker holds it. Called by the heartbeat and right before a publish commits, so a
    /// worker that was paused past the stale time finds out before it could overwrite anything.
    /// </summary>
    public async Task<bool> RenewAsync(CancellationToken cancellationToken)
    {
        if (_lost.IsCancellationRequested)
        {
            return false;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            if (now - _lastRenewal > StaleAfter)
            {
                // Not renewed for longer than the stale time (paused, or the store unreachable): another worker may hold it
                // by now. The conditional replace below tells for sure; until it succeeds, count it as lost.
                _log($"{OutputLayout.Name(ShardId)}: no heartbeat for {(now - _lastRenewal).TotalSeconds:F0} s (stale after {StaleAfter.TotalSeconds:F0} s)");
            }

            var record = new ShardLeaseRecord(ShardId, _identity.Worker, _identity.Host, _identity.Pid, _acquiredAt, now.ToString("O"), (int)Math.Ceiling(StaleAfter.TotalSeconds));
            var renewed = await _store.TryReplaceAsync(OutputLayout.LeaseKey(ShardId), JsonSerializer.SerializeToUtf8Bytes(record, ShardLedger.JsonOptions), _version, cancellationToken).ConfigureAwait(false);
            if (renewed is null)
            {
                _log($"{OutputLayout.Name(ShardId)}: lost the lease (another worker took it over); this worker stops working on the shard and publishes nothing");
                await _lost.CancelAsync().ConfigureAwait(false);
                return false;
            }

            _version = renewed;
            _lastRenewal = now;
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the heartbeat and deletes the lease if this worker still holds it.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_heartbeat is not null)
        {
            await _heartbeat.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (!_lost.IsCancellationRequested)
        {
            try
            {
                await _store.TryDeleteAsync(OutputLayout.LeaseKey(ShardId), _version, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or NotSupportedException)
            {
                _log($"{OutputLayout.Name(ShardId)}: could not release the lease ({ex.Message}); it goes stale after {StaleAfter.TotalSeconds:F0} s");
            }
        }

        _lost.Dispose();
        _stop.Dispose();
        _gate.Dispose();
    }

    private static ShardLease Start(ShardLease lease)
    {
        lease._heartbeat = lease.HeartbeatAsync();
        return lease;
    }

    private async Task HeartbeatAsync()
    {
        using var timer = new PeriodicTimer(StaleAfter / 4, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    if (!await RenewAsync(_stop.Token).ConfigureAwait(false))
                    {
                        return;
                    }
                }
                catch (Exception ex) when (ex is IOException)
                {
                    // A store error: keep trying; RenewAsync counts the lease lost only when the store says so.
                    _log($"{OutputLayout.Name(ShardId)}: lease heartbeat failed ({ex.Message}); retrying");
                    if (_time.GetUtcNow() - _lastRenewal > StaleAfter)
                    {
                        _log($"{OutputLayout.Name(ShardId)}: no heartbeat for longer than the stale time; stopping work on the shard");
                        await _lost.CancelAsync().ConfigureAwait(false);
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Released.
        }
    }

    private static ShardLeaseRecord Parse(byte[] content, string uri)
    {
        try
        {
            return JsonSerializer.Deserialize<ShardLeaseRecord>(content, ShardLedger.JsonOptions) ?? throw new InvalidDataException($"Lease {uri} is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Lease {uri} is not a valid lease: {ex.Message}", ex);
        }
    }
}
