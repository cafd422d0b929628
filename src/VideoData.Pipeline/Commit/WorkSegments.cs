using System.Text.Json;
using VideoData.Pipeline.Ledger;
using VideoData.Shards;
using VideoData.Storage.Blobs;

namespace VideoData.Pipeline.Commit;

/// <summary>
/// The commit record of one work segment, <c>_work/shard-NNNNN/seg-RUN-SEQ.json</c>, written after the segment's data
/// file: the segment's videos are committed once it exists (and its data file does).
/// </summary>
/// <param name="Segment">The segment's name (<c>seg-RUN-SEQ</c>).</param>
/// <param name="ShardId">The shard.</param>
/// <param name="BucketCount">The bucket count of the plan the segment was made under.</param>
/// <param name="DataFile">Key of the segment's Parquet file (its done videos, one row group each), or null when all failed.</param>
/// <param name="Videos">The ledger entry of every video of the segment, done or failed.</param>
/// <param name="Worker">The worker that committed it.</param>
/// <param name="CommittedAt">When (ISO-8601 UTC).</param>
public sealed record SegmentRecord(string Segment, int ShardId, int BucketCount, string? DataFile, IReadOnlyList<LedgerEntry> Videos, string Worker, string CommittedAt);

/// <summary>
/// Commits finished videos in segments: every <c>segment_videos</c> videos or <c>segment_seconds</c> seconds (whichever comes
/// first), and at the end, the buffered results become one Parquet file (one row group per video, so the publish can copy
/// any video's row group on its own) and then one small commit record. A kill loses at most the videos of the open segment.
/// Not thread-safe: the writer stage owns it.
/// </summary>
internal sealed class SegmentWriter
{
    private readonly IBlobStore _output;
    private readonly int _shardId;
    private readonly int _bucketCount;
    private readonly ShardLineage _lineage;
    private readonly string _worker;
    private readonly int _maxVideos;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _time;
    private readonly FeatureStorage _storage;
    private readonly string _run = Guid.NewGuid().ToString("N")[..12];
    private readonly List<FeatureRecord> _records = [];
    private readonly List<LedgerEntry> _entries = [];
    private long _openedAt;
    private int _sequence;

    /// <param name="storage">How feature values are stored (<c>encoder.feature_dtype</c>); the publish copies them as written here.</param>
    public SegmentWriter(IBlobStore output, int shardId, int bucketCount, ShardLineage lineage, string worker, int maxVideos, TimeSpan maxAge, TimeProvider time, FeatureStorage storage = FeatureStorage.Float16Rounded)
    {
        _storage = storage;
        _output = output;
        _shardId = shardId;
        _bucketCount = bucketCount;
        _lineage = lineage;
        _worker = worker;
        _maxVideos = maxVideos;
        _maxAge = maxAge;
        _time = time;
    }

    /// <summary>Videos buffered in the open segment.</summary>
    public int Buffered => _entries.Count;

    /// <summary>Adds a finished video (with its features when it is done); true when the segment should be committed now.</summary>
    public bool Add(LedgerEntry entry, FeatureRecord? record)
    {
        if (_entries.Count == 0)
        {
            _openedAt = _time.GetTimestamp();
        }

        _entries.Add(entry);
        if (record is not null)
        {
            _records.Add(record);
        }

        return _entries.Count >= _maxVideos || _time.GetElapsedTime(_openedAt) >= _maxAge;
    }

    /// <summary>Whether the open segment is older than the age limit (checked between videos too).</summary>
    public bool IsDue => _entries.Count > 0 && _time.GetElapsedTime(_openedAt) >= _maxAge;

    /// <summary>Commits the open segment (data file, then commit record); returns its entries (none when nothing was buffered).</summary>
    public async Task<IReadOnlyList<LedgerEntry>> CommitAsync(CancellationToken cancellationToken)
    {
        if (_entries.Count == 0)
        {
            return [];
        }

        var name = $"seg-{_run}-{_sequence++:D5}";
        string? dataKey = null;
        if (_records.Count > 0)
        {
            dataKey = OutputLayout.SegmentDataKey(_shardId, name);
            using var buffer = new MemoryStream();
            var writer = FeatureShardWriter.Create(buffer, _lineage, new FeatureShardWriterOptions { VideosPerRowGroup = 1, Storage = _storage });
            await using (writer.ConfigureAwait(false))
            {
                foreach (var video in _records)
                {
                    await writer.AddAsync(video, cancellationToken).ConfigureAwait(false);
                }

                await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }

            buffer.Position = 0;
            await _output.WriteAsync(dataKey, buffer, cancellationToken).ConfigureAwait(false);
            CrashPoints.Reached(CrashPoints.SegmentDataWritten);
        }

        var record = new SegmentRecord(name, _shardId, _bucketCount, dataKey, [.. _entries], _worker, _time.GetUtcNow().ToString("O"));
        using (var json = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(record, ShardLedger.JsonOptions)))
        {
            await _output.WriteAsync(OutputLayout.SegmentRecordKey(_shardId, name), json, cancellationToken).ConfigureAwait(false);
        }

        CrashPoints.Reached(CrashPoints.SegmentCommitted);
        var committed = record.Videos;
        _entries.Clear();
        _records.Clear();
        return committed;
    }
}

/// <summary>
/// <b>I1: what is committed is never lost.</b> The resume state of a shard is its published ledger plus every committed
/// work segment the ledger has not taken in, merged per video (done beats failed; of two failures the one with more
/// attempts wins). Segments the ledger lists as taken in are leftovers of a publish killed before its clean-up and are
/// deleted; so are segment data files without a commit record (a kill between the two writes: never committed) and records
/// whose data file is gone. A shard with segments not yet taken in is published again even when nothing is pending, so a
/// success committed by any run reaches the ledger and the shard on some later run.
/// </summary>
internal sealed class ResumeState
{
    private ResumeState(ShardLedger? ledger, string? ledgerVersion, IReadOnlyList<SegmentRecord> segments, Dictionary<string, (LedgerEntry Entry, string? Segment)> merged)
    {
        Ledger = ledger;
        LedgerVersion = ledgerVersion;
        Segments = segments;
        Merged = merged;
    }

    /// <summary>The published ledger, or null.</summary>
    public ShardLedger? Ledger { get; }

    /// <summary>Its store version, for the conditional commit of the next publish.</summary>
    public string? LedgerVersion { get; }

    /// <summary>Committed segments the ledger has not taken in, in name order.</summary>
    public IReadOnlyList<SegmentRecord> Segments { get; }

    /// <summary>Per video: the winning entry and the segment holding its features (null: the published data file).</summary>
    public Dictionary<string, (LedgerEntry Entry, string? Segment)> Merged { get; }

    public static async Task<ResumeState> LoadAsync(IBlobStore output, int shardId, Status.ShardPlanFile plan, Action<string> log, CancellationToken cancellationToken)
    {
        var name = OutputLayout.Name(shardId);
        var read = await ShardLedger.ReadVersionedAsync(output, shardId, cancellationToken).ConfigureAwait(false);
        var ledger = read?.Ledger;
        if (ledger is not null)
        {
            if (ledger.Plan is null || ledger.DataFile is null)
            {
                throw new InvalidOperationException($"{output.UriOf(OutputLayout.LedgerKey(shardId))} has no plan: it was made by an earlier version that cut shards consecutively. Write to a new output.");
            }

            if (ledger.Plan.Rule != plan.Rule || ledger.Plan.BucketCount != plan.BucketCount)
            {
                throw new InvalidOperationException($"{name}: its ledger was made under {ledger.Plan.Rule} with {ledger.Plan.BucketCount} shards, the output's plan is {plan.Rule} with {plan.BucketCount}; refusing to mix plans.");
            }
        }

        var taken = (ledger?.Segments ?? []).ToHashSet(StringComparer.Ordinal);
        var records = new List<SegmentRecord>();
        var dataFiles = new HashSet<string>(StringComparer.Ordinal);
        var leftovers = new List<string>();
        var prefix = OutputLayout.WorkPrefix(shardId);
        var keys = new List<string>();
        await foreach (var blob in output.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            keys.Add(blob.Key);
        }

        foreach (var key in keys)
        {
            var file = key[prefix.Length..];
            var segment = Path.GetFileNameWithoutExtension(file);
            if (taken.Contains(segment) || !file.StartsWith("seg-", StringComparison.Ordinal))
            {
                leftovers.Add(key);
            }
            else if (file.EndsWith(".parquet", StringComparison.Ordinal))
            {
                dataFiles.Add(key);
            }
            else if (file.EndsWith(".json", StringComparison.Ordinal))
            {
                var stream = await output.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    SegmentRecord record;
                    try
                    {
                        record = await JsonSerializer.DeserializeAsync<SegmentRecord>(stream, ShardLedger.JsonOptions, cancellationToken).ConfigureAwait(false)
                            ?? throw new InvalidDataException($"{output.UriOf(key)} is empty.");
                    }
                    catch (JsonException ex)
                    {
                        throw new InvalidDataException($"{output.UriOf(key)} is not a segment record: {ex.Message}", ex);
                    }

                    if (record.BucketCount != plan.BucketCount || record.ShardId != shardId)
                    {
                        throw new InvalidOperationException($"{name}: work segment {output.UriOf(key)} was made for shard {record.ShardId} of {record.BucketCount}, the output's plan has {plan.BucketCount}; refusing to mix plans.");
                    }

                    records.Add(record);
                }
            }
            else
            {
                leftovers.Add(key);
            }
        }

        var committed = new List<SegmentRecord>();
        foreach (var record in records.OrderBy(r => r.Segment, StringComparer.Ordinal))
        {
            if (record.DataFile is { } data && !dataFiles.Contains(data))
            {
                log($"{name}: work segment {record.Segment} has no data file {data}; its {record.Videos.Count} videos are not committed and are redone");
                leftovers.Add(OutputLayout.SegmentRecordKey(shardId, record.Segment));
                continue;
            }

            committed.Add(record);
        }

        var named = committed.Where(r => r.DataFile is not null).Select(r => r.DataFile!).ToHashSet(StringComparer.Ordinal);
        leftovers.AddRange(dataFiles.Where(d => !named.Contains(d)));
        if (leftovers.Count > 0)
        {
            foreach (var key in leftovers)
            {
                await output.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
            }

            log($"{name}: removed {leftovers.Count} work file(s) already published or never committed");
        }

        var merged = new Dictionary<string, (LedgerEntry Entry, string? Segment)>(StringComparer.Ordinal);
        foreach (var entry in ledger?.Videos ?? [])
        {
            merged[entry.VideoId] = (entry, null);
        }

        foreach (var record in committed)
        {
            foreach (var entry in record.Videos)
            {
                if (!merged.TryGetValue(entry.VideoId, out var current)
                    || (!current.Entry.IsDone && (entry.IsDone || entry.Attempts > current.Entry.Attempts)))
                {
                    merged[entry.VideoId] = (entry, entry.IsDone ? record.Segment : null);
                }
            }
        }

        return new ResumeState(ledger, read?.Version, committed, merged);
    }
}

/// <summary>Raised when another worker committed the shard's ledger between this worker's start and its publish.</summary>
internal sealed class ShardConflictException(string message) : Exception(message);

/// <summary>Raised when a worker finds at publish time that it no longer holds the shard's lease.</summary>
internal sealed class LeaseLostException(string message) : Exception(message);
