using VideoData.Pipeline.Run;
using VideoData.Pipeline.Status;
using VideoData.Storage.Blobs;

namespace VideoData.Pipeline.Commit;

/// <summary>
/// <b>I4: concurrent workers on the same shard cannot corrupt it.</b> A worker works on a shard only while it holds the
/// shard's lease: a small document created with a conditional create (local: under the folder's flock; S3:
/// <c>If-None-Match: *</c>), renewed every quarter of <see cref="ShardLease.StaleAfterSeconds"/> with a conditional
/// replace on the version it last wrote (<c>If-Match</c>), and deleted (conditionally) on release. A second worker skips a
/// shard whose lease is alive and may take over one whose heartbeat is stale, again by a conditional replace on the stale
/// version, so of two workers taking over at once exactly one wins. A worker whose renewal fails has lost the lease: its
/// <see cref="Lost"/> token fires, it stops working on the shard and never publishes (the publish renews first, and the
/// ledger commit is itself conditional on the ledger version the worker started from, which a taker-over's publish changes).
/// </summary>
internal sealed class ShardLeaseHolder : IAsyncDisposable
{
    private readonly IBlobStore _store;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly DateTimeOffset _acquiredAt;
    private string _version;
    private DateTimeOffset _lastRenewal;
    private Task? _heartbeat;

    private ShardLeaseHolder(IBlobStore store, int shardId, TimeSpan staleAfter, TimeProvider time, Action<string> log, string version, DateTimeOffset acquiredAt)
    {
        _store = store;
        ShardId = shardId;
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
    public static async Task<(ShardLeaseHolder? Lease, ShardLease? Holder)> TryAcquireAsync(IBlobStore store, int shardId, TimeSpan staleAfter, TimeProvider time, Action<string> log, CancellationToken cancellationToken)
    {
        var key = OutputLayout.LeaseKey(shardId);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var now = time.GetUtcNow();
            var record = new ShardLease(shardId, WorkerIdentity.Id, WorkerIdentity.Host, WorkerIdentity.Pid, now, now, (int)Math.Ceiling(staleAfter.TotalSeconds));
            var content = record.ToJson();
            if (await store.TryCreateAsync(key, content, cancellationToken).ConfigureAwait(false) is { } created)
            {
                return (Start(new ShardLeaseHolder(store, shardId, staleAfter, time, log, created, record.AcquiredAt)), null);
            }

            if (await store.ReadVersionedAsync(key, cancellationToken).ConfigureAwait(false) is not { } current)
            {
                continue; // released between our create and read: try again
            }

            var holder = ShardLease.Parse(current.Content, store.UriOf(key));
            if (!holder.IsStaleAt(now))
            {
                return (null, holder);
            }

            if (await store.TryReplaceAsync(key, content, current.Version, cancellationToken).ConfigureAwait(false) is { } taken)
            {
                log($"{OutputLayout.Name(shardId)}: took over the lease of worker {holder.Worker} (pid {holder.Pid} on {holder.Host}), whose last heartbeat was {holder.HeartbeatAt:O}");
                return (Start(new ShardLeaseHolder(store, shardId, staleAfter, time, log, taken, record.AcquiredAt)), null);
            }
        }

        // Lost every race: someone else holds it now.
        var latest = await store.ReadVersionedAsync(key, cancellationToken).ConfigureAwait(false);
        return (null, latest is null ? null : ShardLease.Parse(latest.Content, store.UriOf(key)));
    }

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

            var record = new ShardLease(ShardId, WorkerIdentity.Id, WorkerIdentity.Host, WorkerIdentity.Pid, _acquiredAt, now, (int)Math.Ceiling(StaleAfter.TotalSeconds));
            var renewed = await _store.TryReplaceAsync(OutputLayout.LeaseKey(ShardId), record.ToJson(), _version, cancellationToken).ConfigureAwait(false);
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

    private static ShardLeaseHolder Start(ShardLeaseHolder lease)
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
}
