using VideoData.Pipeline.Ledger;
using VideoData.Pipeline.Run;
using VideoData.Storage.Blobs;

namespace VideoData.Pipeline.Status;

/// <summary>Settings of <see cref="JobStatusReader"/>.</summary>
public sealed record JobStatusOptions
{
    /// <summary>The clock "now" comes from (tests inject a fixed one). Default: the system clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The window of the "now" throughput. Default one hour (a HowTo100M shard takes hours, so a shorter window mostly sees nothing finish).</summary>
    public TimeSpan RateWindow { get; init; } = TimeSpan.FromHours(1);

    /// <summary>A shard in progress longer than this many times the median shard time is a straggler. Default 3.</summary>
    public double StragglerFactor { get; init; } = JobStatusReader.StragglerFactor;

    /// <summary>Small files read at once. Default 16.</summary>
    public int ReadConcurrency { get; init; } = 16;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public JobStatusOptions Validate()
    {
        ArgumentNullException.ThrowIfNull(Time);
        if (RateWindow <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Status option RateWindow = {RateWindow} must be positive.");
        }

        if (!(StragglerFactor > 1))
        {
            throw new ArgumentException($"Status option StragglerFactor = {StragglerFactor} must be above 1.");
        }

        if (ReadConcurrency < 1)
        {
            throw new ArgumentException($"Status option ReadConcurrency = {ReadConcurrency} must be at least 1.");
        }

        return this;
    }
}

/// <summary>
/// Builds a <see cref="JobStatus"/> of a preprocessing output across all its workers.
/// Invariants: it costs listings and small reads only (<see cref="JobFiles.ReadAsync"/>), never a shard body; a file
/// that cannot be read (corrupt ledger, stats or lease) is reported in <see cref="JobStatus.Problems"/> and never makes
/// the whole status fail; every video is counted once (a published ledger wins over work files of the same shard);
/// "now" comes from <see cref="JobStatusOptions.Time"/> only.
/// </summary>
public static class JobStatusReader
{
    /// <summary>The default straggler factor: in progress for more than 3× the median shard time.</summary>
    public const double StragglerFactor = 3;

    /// <summary>Shards that must have finished before the median shard time (and so stragglers) means anything.</summary>
    public const int MinFinishedForStragglers = 3;

    /// <summary>Reads <paramref name="output"/> and aggregates it.</summary>
    public static async Task<JobStatus> ReadAsync(IBlobStore output, JobStatusOptions? options = null, CancellationToken cancellationToken = default)
    {
        options = (options ?? new JobStatusOptions()).Validate();
        var files = await JobFiles.ReadAsync(output, options.ReadConcurrency, cancellationToken).ConfigureAwait(false);
        return Aggregate(files, options);
    }

    /// <summary>The status of the job whose files are <paramref name="files"/>, as of <see cref="JobStatusOptions.Time"/>'s now.</summary>
    public static JobStatus Aggregate(JobFiles files, JobStatusOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        options = (options ?? new JobStatusOptions()).Validate();
        var now = options.Time.GetUtcNow();

        var ids = new SortedSet<int>(files.Ledgers.Keys.Concat(files.CorruptLedgers).Concat(files.Leases.Keys).Concat(files.Work.Keys).Concat(files.Stats.Keys));
        var planned = files.Plan?.Shards.ToDictionary(s => s.Id, s => s.Videos);
        if (planned is not null)
        {
            ids.UnionWith(planned.Keys);
        }

        var finishedDurations = files.Stats.Values.Select(s => s.WallSeconds).Where(s => s > 0).Order().ToList();
        double? median = finishedDurations.Count >= MinFinishedForStragglers ? finishedDurations[finishedDurations.Count / 2] : null;

        var shards = new List<ShardStatus>();
        var failures = new List<LedgerEntry>();
        int done = 0, failed = 0;
        long seconds = 0;
        foreach (var id in ids)
        {
            var name = ShardLedger.ShardName(id);
            files.Leases.TryGetValue(id, out var lease);
            files.Stats.TryGetValue(id, out var stats);
            files.Work.TryGetValue(id, out var work);
            int? videos = planned is not null && planned.TryGetValue(id, out var v) ? v : null;
            var leaseNote = lease is null ? null : $"leased by {lease.Worker}" + (lease.Host is null ? string.Empty : $" on {lease.Host}");
            var staleNote = lease is not null && lease.IsStaleAt(now)
                ? $"stale lease: {lease.Worker} last heartbeat {(now - lease.HeartbeatAt).TotalSeconds:F0} s ago (stale after {lease.StaleAfterSeconds} s); its worker is presumed dead"
                : null;

            if (files.Ledgers.TryGetValue(id, out var ledger))
            {
                // The published ledger is the shard's truth; work files beside it belong to a rerun that has not published yet.
                var shardDone = ledger.Done.Count();
                var shardFailed = ledger.Videos.Count - shardDone;
                done += shardDone;
                failed += shardFailed;
                seconds += ledger.Done.Sum(e => (long)e.Seconds);
                failures.AddRange(ledger.Failed);
                // A lease beside a published ledger is a rerun retrying failures: the shard still counts as done.
                shards.Add(new ShardStatus(id, name, ShardStates.Done, videos ?? ledger.Videos.Count, shardDone, shardFailed,
                    lease?.Worker ?? stats?.Worker, lease?.Host ?? stats?.Host, stats?.StartedAt ?? lease?.AcquiredAt, stats?.FinishedAt, lease?.HeartbeatAt, stats?.WallSeconds,
                    staleNote ?? (lease is null ? null : $"published; {leaseNote} again (retrying failures)")));
                continue;
            }

            if (files.CorruptLedgers.Contains(id))
            {
                shards.Add(new ShardStatus(id, name, ShardStates.Corrupt, videos, 0, 0, stats?.Worker, stats?.Host, stats?.StartedAt, stats?.FinishedAt, lease?.HeartbeatAt, stats?.WallSeconds,
                    $"ledger {ShardLedger.KeyOf(id)} cannot be read; its videos are not counted (rerunning the shard rewrites it)"));
                continue;
            }

            if (lease is null && work is null)
            {
                shards.Add(new ShardStatus(id, name, ShardStates.NotStarted, videos, 0, 0, null, null, null, null, null, null, null));
                continue;
            }

            var workDone = work?.Done ?? 0;
            var workFailed = work?.Failures.Count ?? 0;
            done += workDone;
            failed += workFailed;
            failures.AddRange(work?.Failures ?? []);
            var started = lease?.AcquiredAt ?? work?.Oldest;
            var elapsed = started is { } s ? (now - s).TotalSeconds : (double?)null;
            var inProgress = lease is null ? ShardStates.Partial : lease.IsStaleAt(now) ? ShardStates.Stale : ShardStates.Running;
            var note = staleNote ?? (lease is null ? "work files but no lease: an interrupted run (or a worker without leases); a rerun resumes it" : null);
            // A stale shard is already flagged as its worker's death; a straggler is one whose worker is alive but slow.
            if (median is { } m && inProgress != ShardStates.Stale && elapsed > options.StragglerFactor * m)
            {
                note = (note is null ? string.Empty : note + "; ") + $"straggler: {elapsed / m:F1}× the median shard time ({m:F0} s)";
            }

            shards.Add(new ShardStatus(id, name, inProgress, videos, workDone, workFailed, lease?.Worker, lease?.Host, started, null, lease?.HeartbeatAt, elapsed, note));
        }

        var counts = new ShardCounts(
            planned?.Count,
            shards.Count(s => s.State == ShardStates.Done),
            shards.Count(s => s.State is ShardStates.Running or ShardStates.Stale or ShardStates.Partial),
            shards.Count(s => s.State == ShardStates.Stale),
            shards.Count(s => s.State == ShardStates.Corrupt),
            planned is null ? null : shards.Count(s => s.State == ShardStates.NotStarted));
        int? plannedVideos = files.Plan?.Videos;
        var videoCounts = new VideoCounts(plannedVideos, done, failed, plannedVideos is { } p ? Math.Max(0, p - done - failed) : null, seconds);
        var throughput = Throughput(files, now, options.RateWindow, videoCounts.Pending);
        var stragglers = shards.Where(s => s.Note?.Contains("straggler", StringComparison.Ordinal) == true).ToList();

        return new JobStatus(files.Output, now, counts, videoCounts, Failures(failures), throughput, Workers(files, now), stragglers, shards, files.Problems, files.Requests);
    }

    /// <summary>
    /// Replaces the per-video parts of a failure message (the video id, and any token that contains it, such as its URI)
    /// with <c>&lt;video&gt;</c>, so failures with the same cause group together.
    /// </summary>
    public static string MessagePattern(string message, string videoId)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (string.IsNullOrEmpty(videoId))
        {
            return message;
        }

        var tokens = message.Split(' ');
        for (var i = 0; i < tokens.Length; i++)
        {
            if (tokens[i].Contains(videoId, StringComparison.Ordinal))
            {
                var leading = tokens[i].Length - tokens[i].TrimStart('(', '\'', '"').Length;
                var trailing = tokens[i].Length - tokens[i].TrimEnd(':', ',', ';', '.', ')', '\'', '"').Length;
                tokens[i] = string.Concat(tokens[i].AsSpan(0, leading), "<video>", tokens[i].AsSpan(tokens[i].Length - trailing));
            }
        }

        return string.Join(' ', tokens);
    }

    private static List<FailureClassStatus> Failures(List<LedgerEntry> failures) => failures
        .GroupBy(f => f.FailureClass ?? "unknown", StringComparer.Ordinal)
        .Select(g => new FailureClassStatus(
            g.Key,
            g.Count(),
            g.GroupBy(f => MessagePattern(f.Message ?? "(no message)", f.VideoId), StringComparer.Ordinal)
                .OrderByDescending(m => m.Count()).ThenBy(m => m.Key, StringComparer.Ordinal)
                .Take(3)
                .Select(m => new FailureMessage(m.Key, m.Count(), m.Select(f => f.VideoId).Order(StringComparer.Ordinal).Take(3).ToList()))
                .ToList()))
        .OrderByDescending(c => c.Count).ThenBy(c => c.FailureClass, StringComparer.Ordinal)
        .ToList();

    private static ThroughputStatus Throughput(JobFiles files, DateTimeOffset now, TimeSpan window, int? pending)
    {
        var since = now - window;
        double recent = 0;
        foreach (var (id, stats) in files.Stats)
        {
            if (stats.StartedAt is not { } start || stats.FinishedAt is not { } end || end <= since || !files.Ledgers.ContainsKey(id))
            {
                continue;
            }

            // A published shard counts pro rata: the part of its run inside the window.
            var span = (end - start).TotalSeconds;
            var overlap = (end - (start > since ? start : since)).TotalSeconds;
            recent += span <= 0 ? stats.Videos : stats.Videos * Math.Clamp(overlap / span, 0, 1);
        }

        recent += files.Work.Where(w => !files.Ledgers.ContainsKey(w.Key)).Sum(w => w.Value.Committed.Count(t => t > since));
        var perHourNow = recent / window.TotalHours;

        var timed = files.Stats.Values.Where(s => s.StartedAt is not null && s.FinishedAt is not null).ToList();
        double perHourOverall = 0, videoSecondsPerSecond = 0;
        if (timed.Count > 0)
        {
            var first = timed.Min(s => s.StartedAt!.Value);
            var last = timed.Max(s => s.FinishedAt!.Value);
            var span = Math.Max((last - first).TotalSeconds, 1e-3);
            perHourOverall = timed.Sum(s => s.Videos) / (span / 3600);
            videoSecondsPerSecond = timed.Sum(s => s.SecondsProcessed) / span;
        }

        var rate = perHourNow > 0 ? perHourNow : perHourOverall;
        double? eta = pending is { } p ? (p == 0 ? 0 : rate > 0 ? p / rate * 3600 : null) : null;
        return new ThroughputStatus(Math.Round(perHourNow, 3), Math.Round(perHourOverall, 3), Math.Round(videoSecondsPerSecond, 3), window.TotalSeconds, eta is null ? null : Math.Round(eta.Value, 1));
    }

    private static List<WorkerStatus> Workers(JobFiles files, DateTimeOffset now)
    {
        var seen = new Dictionary<string, (string? Host, DateTimeOffset Last, int Held, int StaleHeld, int Published, long Seconds, double Wall)>(StringComparer.Ordinal);
        foreach (var lease in files.Leases.Values)
        {
            var w = seen.GetValueOrDefault(lease.Worker);
            seen[lease.Worker] = (lease.Host ?? w.Host, Max(w.Last, lease.HeartbeatAt), w.Held + 1, w.StaleHeld + (lease.IsStaleAt(now) ? 1 : 0), w.Published, w.Seconds, w.Wall);
        }

        foreach (var stats in files.Stats.Values.Where(s => s.Worker is not null))
        {
            var w = seen.GetValueOrDefault(stats.Worker!);
            seen[stats.Worker!] = (w.Host ?? stats.Host, Max(w.Last, stats.FinishedAt ?? default), w.Held, w.StaleHeld, w.Published + 1, w.Seconds + stats.SecondsProcessed, w.Wall + stats.WallSeconds);
        }

        return seen
            .Select(p => new WorkerStatus(p.Key, p.Value.Host, p.Value.Last, p.Value.Held, p.Value.Published,
                p.Value.Wall > 0 ? Math.Round(p.Value.Seconds / p.Value.Wall, 3) : 0, p.Value.Held > 0 && p.Value.StaleHeld == p.Value.Held))
            .OrderByDescending(w => w.LastSeen).ThenBy(w => w.Worker, StringComparer.Ordinal)
            .ToList();

        static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
    }
}
