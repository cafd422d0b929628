namespace VideoData.Pipeline.Status;

/// <summary>Where one shard stands, as <c>videodata status</c> sees it.</summary>
public static class ShardStates
{
    /// <summary>Its ledger is published (every video resolved).</summary>
    public const string Done = "done";

    /// <summary>A worker holds a fresh lease on it.</summary>
    public const string Running = "running";

    /// <summary>A lease exists but its heartbeat is older than its <c>stale_after_seconds</c>: the worker is presumed dead.</summary>
    public const string Stale = "stale";

    /// <summary>Work files (<c>_work/shard-N/</c>) but no lease and no ledger: an interrupted run (or a worker that takes no leases); a rerun resumes it.</summary>
    public const string Partial = "partial";

    /// <summary>Its ledger exists but cannot be read; reported, never fatal.</summary>
    public const string Corrupt = "corrupt";

    /// <summary>In the plan, nothing written yet.</summary>
    public const string NotStarted = "not_started";
}

/// <summary>One shard's row in a <see cref="JobStatus"/>.</summary>
/// <param name="ShardId">The shard id.</param>
/// <param name="Name">Its file name, <c>shard-00042</c>.</param>
/// <param name="State">One of <see cref="ShardStates"/>.</param>
/// <param name="Videos">Videos assigned (from the plan, else the ledger), or null when unknown.</param>
/// <param name="Done">Videos with features (ledger, or work files committed so far).</param>
/// <param name="Failed">Videos failed (ledger, or work files committed so far).</param>
/// <param name="Worker">The worker holding it (lease) or that published it (stats), when known.</param>
/// <param name="Host">That worker's host, when known.</param>
/// <param name="StartedAt">When work on it started: lease acquisition, stats start or the oldest work file.</param>
/// <param name="FinishedAt">When it was published (stats), for done shards.</param>
/// <param name="HeartbeatAt">Its lease's last heartbeat, while leased.</param>
/// <param name="ElapsedSeconds">For shards in progress: seconds since <paramref name="StartedAt"/>; for done ones: their wall time.</param>
/// <param name="Note">Why it is flagged (stale lease, straggler, corrupt ledger), or null.</param>
public sealed record ShardStatus(
    int ShardId,
    string Name,
    string State,
    int? Videos,
    int Done,
    int Failed,
    string? Worker,
    string? Host,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? HeartbeatAt,
    double? ElapsedSeconds,
    string? Note);

/// <summary>Shards by state; <see cref="Planned"/> is null when the output has no <c>plan.json</c>.</summary>
/// <param name="Planned">Shards in the plan, or null when unknown.</param>
/// <param name="Done">Shards with a published ledger.</param>
/// <param name="InProgress">Running, stale or partial shards.</param>
/// <param name="Stale">Of those, shards leased by a worker whose heartbeat stopped.</param>
/// <param name="Corrupt">Shards whose ledger cannot be read.</param>
/// <param name="NotStarted">Planned shards with nothing written, or null when the plan is unknown.</param>
public sealed record ShardCounts(int? Planned, int Done, int InProgress, int Stale, int Corrupt, int? NotStarted);

/// <summary>Videos by outcome; pending needs the plan.</summary>
/// <param name="Planned">Videos in the plan, or null when unknown.</param>
/// <param name="Done">Videos with features (published or committed in work files).</param>
/// <param name="Failed">Videos failed (published or committed in work files).</param>
/// <param name="Pending">Planned videos not yet resolved, or null when the plan is unknown.</param>
/// <param name="SecondsOfVideo">Seconds of video with features in published shards.</param>
public sealed record VideoCounts(int? Planned, int Done, int Failed, int? Pending, long SecondsOfVideo);

/// <summary>A failure message pattern (the video's id and URI replaced by <c>&lt;video&gt;</c>), how often it occurs, and example videos.</summary>
/// <param name="Message">The message with per-video parts replaced.</param>
/// <param name="Count">Failures with this message.</param>
/// <param name="ExampleVideoIds">Up to three of their video ids.</param>
public sealed record FailureMessage(string Message, int Count, IReadOnlyList<string> ExampleVideoIds);

/// <summary>Failures of one class.</summary>
/// <param name="FailureClass">fetch, probe, decode, timeout, encode, captions (or unknown).</param>
/// <param name="Count">Failures of that class.</param>
/// <param name="TopMessages">The three most common message patterns, most common first.</param>
public sealed record FailureClassStatus(string FailureClass, int Count, IReadOnlyList<FailureMessage> TopMessages);

/// <summary>Throughput of the job.</summary>
/// <param name="VideosPerHourNow">Videos resolved per hour over the last <paramref name="WindowSeconds"/> (published shards pro rata by their run time, plus work files committed in the window).</param>
/// <param name="VideosPerHourOverall">Videos resolved per hour from the first shard's start to the last publication.</param>
/// <param name="VideoSecondsPerSecondOverall">Seconds of video per wall-clock second over the same span.</param>
/// <param name="WindowSeconds">The window of the "now" rate.</param>
/// <param name="EtaSeconds">Pending videos at the current rate (the overall one when nothing moved in the window), or null when unknown.</param>
public sealed record ThroughputStatus(double VideosPerHourNow, double VideosPerHourOverall, double VideoSecondsPerSecondOverall, double WindowSeconds, double? EtaSeconds);

/// <summary>A worker seen in leases or stats.</summary>
/// <param name="Worker">Its unique id.</param>
/// <param name="Host">Its host, when known.</param>
/// <param name="LastSeen">Its latest lease heartbeat or stats publication.</param>
/// <param name="ShardsHeld">Shards it holds a lease on now.</param>
/// <param name="ShardsPublished">Shards whose stats name it.</param>
/// <param name="VideoSecondsPerSecond">Seconds of video per second of its shards' wall time.</param>
/// <param name="Stale">True when every lease it holds is stale (the worker is presumed dead).</param>
public sealed record WorkerStatus(string Worker, string? Host, DateTimeOffset LastSeen, int ShardsHeld, int ShardsPublished, double VideoSecondsPerSecond, bool Stale);

/// <summary>
/// One look at a preprocessing output across all its workers, built from listings and small files only
/// (plan, ledgers, stats, leases, work-file names and segment commit records), never the shard Parquet bodies.
/// </summary>
/// <param name="Output">The output's URI.</param>
/// <param name="At">When the look was taken (UTC).</param>
/// <param name="Shards">Shards by state.</param>
/// <param name="Videos">Videos by outcome.</param>
/// <param name="Failures">Failures per class, most frequent class first.</param>
/// <param name="Throughput">Rates and ETA.</param>
/// <param name="Workers">Workers seen, most recently seen first.</param>
/// <param name="Stragglers">Shards in progress for more than <see cref="JobStatusReader.StragglerFactor"/> times the median shard time.</param>
/// <param name="ShardList">Every shard known (plan, ledger, lease or work files), by id.</param>
/// <param name="Problems">Files that could not be read (corrupt ledger, stats or lease), each naming the file; never fatal.</param>
/// <param name="Requests">Storage requests the look cost.</param>
public sealed record JobStatus(
    string Output,
    DateTimeOffset At,
    ShardCounts Shards,
    VideoCounts Videos,
    IReadOnlyList<FailureClassStatus> Failures,
    ThroughputStatus Throughput,
    IReadOnlyList<WorkerStatus> Workers,
    IReadOnlyList<ShardStatus> Stragglers,
    IReadOnlyList<ShardStatus> ShardList,
    IReadOnlyList<string> Problems,
    long Requests);
