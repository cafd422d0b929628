using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using VideoData.Pipeline.Commit;
using VideoData.Pipeline.Ledger;
using VideoData.Pipeline.Run;
using VideoData.Storage.Blobs;

namespace VideoData.Pipeline.Status;

/// <summary>
/// What one shard's work folder (<c>_work/shard-N/</c>) holds: the videos of its committed segments not yet published. Read
/// from the segments' commit records (<c>seg-RUN-SEQ.json</c>, <see cref="SegmentRecord"/>); their data files are only
/// listed, never opened. A video in several segments (failed in one run, retried in the next) counts once, as the resume
/// state merges it: done beats failed.
/// </summary>
/// <param name="Done">Videos committed with features.</param>
/// <param name="Failures">Videos committed as failed (and not done in another segment).</param>
/// <param name="Oldest">Time stamp of the oldest work file.</param>
/// <param name="Committed">Time stamp of every committed video (done or failed; its segment record's), for the current rate.</param>
public sealed record ShardWork(int Done, IReadOnlyList<LedgerEntry> Failures, DateTimeOffset Oldest, IReadOnlyList<DateTimeOffset> Committed);

/// <summary>
/// The small files of a preprocessing output that status and reports are made from: the plan, every ledger, stats
/// and lease, and the names (plus segment commit records) of the work in progress. Read with listings and small reads only;
/// a file that cannot be read is named in <see cref="Problems"/> and the rest is still read.
/// </summary>
/// <param name="Output">The output's URI.</param>
/// <param name="Plan">The shard plan, or null when the output has no <c>plan.json</c>.</param>
/// <param name="Ledgers">Readable ledgers by shard id.</param>
/// <param name="CorruptLedgers">Shards whose ledger exists but cannot be read.</param>
/// <param name="Stats">Readable stats by shard id.</param>
/// <param name="Leases">Readable leases by shard id.</param>
/// <param name="Work">Work folders by shard id.</param>
/// <param name="Problems">Files that could not be read, each with the reason.</param>
/// <param name="Requests">Storage requests the read cost.</param>
public sealed record JobFiles(
    string Output,
    ShardPlanFile? Plan,
    IReadOnlyDictionary<int, ShardLedger> Ledgers,
    IReadOnlySet<int> CorruptLedgers,
    IReadOnlyDictionary<int, ShardStats> Stats,
    IReadOnlyDictionary<int, ShardLease> Leases,
    IReadOnlyDictionary<int, ShardWork> Work,
    IReadOnlyList<string> Problems,
    long Requests)
{
    private const string WorkPrefix = "_work/";

    /// <summary>
    /// Reads the output: four listings (<c>ledger/</c>, <c>stats/</c>, <c>leases/</c>, <c>_work/</c>, paged) and one small
    /// read per plan, ledger, stats, lease and work segment record, <paramref name="readConcurrency"/> at a time. Shard bodies
    /// (<c>shards/*.parquet</c>) and segment data files are never opened.
    /// </summary>
    public static async Task<JobFiles> ReadAsync(IBlobStore output, int readConcurrency = 16, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(readConcurrency, 1);
        var before = output.Counters.Requests;
        var problems = new ConcurrentBag<string>();

        var ledgerKeys = await ListShardFilesAsync(output, "ledger/", ".json", cancellationToken).ConfigureAwait(false);
        var statsKeys = await ListShardFilesAsync(output, ShardStats.Prefix, "_stats.json", cancellationToken).ConfigureAwait(false);
        var leaseKeys = await ListShardFilesAsync(output, ShardLease.Prefix, ".json", cancellationToken).ConfigureAwait(false);
        var workFiles = new Dictionary<int, List<BlobInfo>>();
        await foreach (var blob in output.ListAsync(WorkPrefix, cancellationToken).ConfigureAwait(false))
        {
            var rest = blob.Key[WorkPrefix.Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0 && slash < rest.Length - 1 && TryParseShardName(rest.AsSpan(0, slash), out var id) && rest[slash + 1] != '.')
            {
                (workFiles.TryGetValue(id, out var list) ? list : workFiles[id] = []).Add(blob);
            }
        }

        ShardPlanFile? plan = null;
        try
        {
            plan = ShardPlanFile.Parse(await ReadSmallAsync(output, ShardPlanFile.Key, cancellationToken).ConfigureAwait(false), output.UriOf(ShardPlanFile.Key));
        }
        catch (Exception ex) when (ShardPlanFile.IsNotFound(ex))
        {
            problems.Add($"{output.UriOf(ShardPlanFile.Key)} does not exist (written by `videodata preprocess` when it starts): shards not started and videos pending are unknown.");
        }
        catch (Exception ex) when (ex is InvalidDataException or VideoData.Core.Failures.VideoDataException)
        {
            problems.Add(ex.Message);
        }

        var ledgers = new ConcurrentDictionary<int, ShardLedger>();
        var corrupt = new ConcurrentDictionary<int, bool>();
        var stats = new ConcurrentDictionary<int, ShardStats>();
        var leases = new ConcurrentDictionary<int, ShardLease>();
        var segments = new ConcurrentDictionary<int, ConcurrentBag<(SegmentRecord Record, DateTimeOffset At)>>();
        var reads = new List<Func<CancellationToken, Task>>();
        foreach (var (id, key) in ledgerKeys)
        {
            reads.Add(async ct =>
            {
                try
                {
                    var bytes = await ReadSmallAsync(output, key, ct).ConfigureAwait(false);
                    var ledger = JsonSerializer.Deserialize<ShardLedger>(bytes, ShardLedger.JsonOptions);
                    if (ledger?.Videos is null || ledger.ShardId != id)
                    {
                        throw new InvalidDataException($"Ledger {output.UriOf(key)} is not the ledger of {ShardLedger.ShardName(id)}.");
                    }

                    ledgers[id] = ledger;
                }
                catch (Exception ex) when (ex is JsonException or InvalidDataException or VideoData.Core.Failures.VideoDataException)
                {
                    corrupt[id] = true;
                    problems.Add(ex is JsonException ? $"Ledger {output.UriOf(key)} is not a valid ledger: {ex.Message}" : ex.Message);
                }
            });
        }

        foreach (var (id, key) in statsKeys)
        {
            reads.Add(async ct => await ReadAsync(key, bytes => stats[id] = ShardStats.Parse(bytes, output.UriOf(key)), ct).ConfigureAwait(false));
        }

        foreach (var (id, key) in leaseKeys)
        {
            reads.Add(async ct => await ReadAsync(key, bytes => leases[id] = ShardLease.Parse(bytes, output.UriOf(key)), ct).ConfigureAwait(false));
        }

        foreach (var (id, files) in workFiles)
        {
            foreach (var file in files.Where(f => f.Key.EndsWith(".json", StringComparison.Ordinal)))
            {
                reads.Add(async ct => await ReadAsync(file.Key, bytes =>
                {
                    var record = JsonSerializer.Deserialize<SegmentRecord>(bytes, ShardLedger.JsonOptions);
                    if (record?.Videos is null || record.ShardId != id)
                    {
                        throw new InvalidDataException($"Work segment record {output.UriOf(file.Key)} is not a segment of {ShardLedger.ShardName(id)}.");
                    }

                    segments.GetOrAdd(id, _ => []).Add((record, file.LastModified));
                }, ct).ConfigureAwait(false));
            }
        }

        await Parallel.ForEachAsync(reads, new ParallelOptions { MaxDegreeOfParallelism = readConcurrency, CancellationToken = cancellationToken }, async (read, ct) => await read(ct).ConfigureAwait(false)).ConfigureAwait(false);

        var work = workFiles.ToDictionary(
            w => w.Key,
            w =>
            {
                // Per video the entry the resume state would keep: done beats failed; the later commit wins otherwise.
                var videos = new Dictionary<string, (LedgerEntry Entry, DateTimeOffset At)>(StringComparer.Ordinal);
                foreach (var (record, at) in segments.TryGetValue(w.Key, out var bag) ? bag.OrderBy(s => s.Record.Segment, StringComparer.Ordinal).ToList() : [])
                {
                    foreach (var entry in record.Videos)
                    {
                        if (!videos.TryGetValue(entry.VideoId, out var seen) || entry.IsDone || !seen.Entry.IsDone)
                        {
                            videos[entry.VideoId] = (entry, at);
                        }
                    }
                }

                return new ShardWork(
                    videos.Values.Count(v => v.Entry.IsDone),
                    videos.Values.Where(v => !v.Entry.IsDone).Select(v => v.Entry).OrderBy(e => e.VideoId, StringComparer.Ordinal).ToList(),
                    w.Value.Min(f => f.LastModified),
                    videos.Values.Select(v => v.At).Order().ToList());
            });

        return new JobFiles(
            output.RootUri,
            plan,
            new SortedDictionary<int, ShardLedger>(ledgers),
            corrupt.Keys.ToHashSet(),
            new SortedDictionary<int, ShardStats>(stats),
            new SortedDictionary<int, ShardLease>(leases),
            new SortedDictionary<int, ShardWork>(work),
            problems.Order(StringComparer.Ordinal).ToList(),
            output.Counters.Requests - before);

        async Task ReadAsync(string key, Action<byte[]> parse, CancellationToken ct)
        {
            try
            {
                parse(await ReadSmallAsync(output, key, ct).ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is JsonException or InvalidDataException or VideoData.Core.Failures.VideoDataException)
            {
                // A file removed between listing and reading (a lease released, work published) is not a problem.
                if (!ShardPlanFile.IsNotFound(ex))
                {
                    problems.Add(ex is JsonException ? $"{output.UriOf(key)} is not valid JSON of its kind: {ex.Message}" : ex.Message);
                }
            }
        }
    }

    /// <summary>The store view of the output at <paramref name="outputUri"/> (a folder, <c>file://</c> or <c>s3://bucket/prefix</c>), keys relative to it.</summary>
    public static IBlobStore OpenOutput(BlobStoreResolver resolver, string outputUri)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        var (store, key) = resolver.Resolve(outputUri);
        return new PrefixedBlobStore(store, key);
    }

    /// <summary>Whether <paramref name="name"/> is <c>shard-N</c> (digits), and N.</summary>
    internal static bool TryParseShardName(ReadOnlySpan<char> name, out int shardId)
    {
        shardId = 0;
        return name.StartsWith("shard-", StringComparison.Ordinal)
            && name.Length > 6
            && int.TryParse(name[6..], NumberStyles.None, CultureInfo.InvariantCulture, out shardId);
    }

    private static async Task<List<(int Id, string Key)>> ListShardFilesAsync(IBlobStore output, string prefix, string suffix, CancellationToken cancellationToken)
    {
        var found = new List<(int, string)>();
        await foreach (var blob in output.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            var name = blob.Key[prefix.Length..];
            if (name.EndsWith(suffix, StringComparison.Ordinal) && !name.Contains('/', StringComparison.Ordinal) && TryParseShardName(name.AsSpan(0, name.Length - suffix.Length), out var id))
            {
                found.Add((id, blob.Key));
            }
        }

        return found;
    }

    private static async Task<byte[]> ReadSmallAsync(IBlobStore store, string key, CancellationToken cancellationToken)
    {
        var stream = await store.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return buffer.ToArray();
        }
    }
}
