using System.Globalization;
using System.Text;
using VideoData.Pipeline.Run;
using VideoData.Pipeline.Status;
using VideoData.Reports.Html;
using VideoData.Shards;
using VideoData.Storage.Blobs;

namespace VideoData.Reports.Corpus;

/// <summary>Settings of <see cref="CorpusReport"/>.</summary>
public sealed record CorpusReportOptions
{
    /// <summary>Most feature rows (videos) read for the feature and caption plots. Default 256; at most 4096.</summary>
    public int SampleVideos { get; init; } = 256;

    /// <summary>Most shards the sample is spread over (one row group each, evenly spaced shards). Default 8.</summary>
    public int SampleShards { get; init; } = 8;

    /// <summary>The clock the report's "now" comes from.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public CorpusReportOptions Validate()
    {
        if (SampleVideos is < 1 or > 4096)
        {
            throw new ArgumentException($"Report option sample videos = {SampleVideos} must be between 1 and 4096.");
        }

        if (SampleShards is < 1 or > 256)
        {
            throw new ArgumentException($"Report option sample shards = {SampleShards} must be between 1 and 256.");
        }

        ArgumentNullException.ThrowIfNull(Time);
        return this;
    }
}

/// <summary>What <see cref="CorpusReport.WriteAsync"/> wrote.</summary>
/// <param name="Path">The HTML file.</param>
/// <param name="Status">The job status the report shows.</param>
/// <param name="SampledVideos">Feature rows read for the feature plots.</param>
/// <param name="FeatureVerdict">The feature health verdict, in words.</param>
/// <param name="FeatureLevel">ok, warn or bad.</param>
public sealed record CorpusReportResult(string Path, JobStatus Status, int SampledVideos, string FeatureVerdict, string FeatureLevel);

/// <summary>
/// The HTML report of a preprocessing output: progress and the per-shard grid, throughput per worker, failures,
/// durations, caption coverage, feature health (norms and cross-video similarity, with a verdict in words) and
/// lineage. Invariants: counts and timings come from the small files (<see cref="JobFiles"/>); feature and caption
/// plots read at most <see cref="CorpusReportOptions.SampleVideos"/> rows, from at most
/// <see cref="CorpusReportOptions.SampleShards"/> row groups; the page is self-contained (no script, no link out).
/// </summary>
public static class CorpusReport
{
    /// <summary>Reads <paramref name="output"/> and writes the report to <paramref name="htmlPath"/>.</summary>
    public static async Task<CorpusReportResult> WriteAsync(IBlobStore output, string htmlPath, CorpusReportOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentException.ThrowIfNullOrWhiteSpace(htmlPath);
        options = (options ?? new CorpusReportOptions()).Validate();
        var files = await JobFiles.ReadAsync(output, cancellationToken: cancellationToken).ConfigureAwait(false);
        var status = JobStatusReader.Aggregate(files, new JobStatusOptions { Time = options.Time });
        var (sample, metadata, sampleProblems) = await SampleAsync(output, options, cancellationToken).ConfigureAwait(false);
        var randomWeights = metadata.TryGetValue("videodata.weights", out var weights) && weights.StartsWith("random", StringComparison.Ordinal);
        var health = FeatureHealth.Measure(sample, randomWeights);

        var c = CultureInfo.InvariantCulture;
        var page = new HtmlPage($"VideoData corpus report: {status.Output}");
        page.Paragraph(string.Create(c, $"Made {status.At:yyyy-MM-dd HH:mm} UTC from the output's plan, ledgers, stats and leases; feature plots from a sample of {health.Videos} videos."), "muted");

        page.Heading("Progress");
        var s = status.Shards;
        var v = status.Videos;
        page.Table(
            ["", "count"],
            [
                ["shards planned", s.Planned?.ToString(c) ?? "unknown (no plan.json)"],
                ["shards done", s.Done.ToString(c)],
                ["shards in progress (stale)", string.Create(c, $"{s.InProgress} ({s.Stale})")],
                ["shards not started", s.NotStarted?.ToString(c) ?? "unknown"],
                ["videos done / failed / pending", string.Create(c, $"{v.Done} / {v.Failed} / {(v.Pending is { } p ? p.ToString(c) : "unknown")}")],
                ["hours of video with features", string.Create(c, $"{v.SecondsOfVideo / 3600.0:F2}")],
                ["throughput overall", string.Create(c, $"{status.Throughput.VideosPerHourOverall:F0} videos/h, {status.Throughput.VideoSecondsPerSecondOverall:F2} video-s/s")],
                ["ETA", JobStatusText.Duration(status.Throughput.EtaSeconds)],
            ],
            "progress");
        page.Raw(ShardGrid(status.ShardList));
        foreach (var problem in status.Problems.Concat(sampleProblems))
        {
            page.Paragraph(problem, "verdict warn");
        }

        page.Heading("Throughput");
        page.Figure("plot-throughput", ThroughputPlot(files), "Each point is one published shard: seconds of video per second of its wall time, at the hour it was published (hours since the first shard started), one line per worker.");
        var perVideo = files.Stats.Values.Where(x => x.Videos > 0 && x.WallSeconds > 0).Select(x => x.WallSeconds / x.Videos).ToList();
        page.Figure("plot-seconds-per-video", Plots.Histogram("Processing time per video", "wall seconds per video (mean of each shard)", perVideo), "A shard's wall time divided by its videos, for every published shard.");

        page.Heading("Failures");
        page.Figure("plot-failures", Plots.Bars("Failures by class", "videos", status.Failures.Select(f => f.FailureClass).ToList(), status.Failures.Select(f => (double)f.Count).ToList()), "Failed videos per failure class (published ledgers and work in progress).");
        page.Table(["class", "count", "message (video id replaced)", "examples"], status.Failures.SelectMany(f => f.TopMessages.Select(m => (IReadOnlyList<string>)[f.FailureClass, m.Count.ToString(c), m.Message, string.Join(", ", m.ExampleVideoIds)])), "failure-messages");

        page.Heading("Videos and captions");
        var durations = files.Ledgers.Values.SelectMany(l => l.Done).Select(e => (double)e.Seconds).ToList();
        page.Figure("plot-durations", Plots.Histogram("Video durations", "seconds of video (feature rows)", durations), string.Create(c, $"Every done video of the published ledgers ({durations.Count})."));
        var withCaptions = sample.Count(r => r.Captions.Count > 0);
        page.Figure("plot-caption-coverage", Plots.Bars("Caption coverage (sample)", "videos", ["with captions", "without"], [withCaptions, sample.Count - withCaptions]), string.Create(c, $"{withCaptions} of {sample.Count} sampled videos have caption segments."));
        var perMinute = sample.Where(r => r.Duration > 0 && r.Captions.Count > 0).Select(r => r.Captions.Count / (r.Duration / 60)).ToList();
        page.Figure("plot-segments-per-minute", Plots.Histogram("Caption segments per minute (sample)", "segments per minute of video", perMinute), "Cleaned caption segments per minute, for sampled videos with captions.");

        page.Heading("Features");
        page.Paragraph(health.Verdict, health.Level == "ok" ? "verdict" : $"verdict {health.Level}");
        page.Figure("plot-feature-norms", Plots.Histogram("Per-second feature norms (sample)", "L2 norm", health.SecondNorms.ToList()), "L2 norm of every per-second feature row of the sample; with L2 normalization on, all are 1.");
        page.Figure("plot-feature-cosine", Plots.Histogram("Per-video mean cosine similarity (sample)", "mean cosine of a video's mean feature to the others'", health.MeanCosine.ToList()), string.Create(c, $"Near 1 for every video means collapsed features (threshold {FeatureHealth.CollapsedCosine})."));

        page.Heading("Lineage");
        // The shard's row index (videodata.index) lists every video: lineage, not a table of ids.
        var lineage = metadata.Where(m => m.Key.StartsWith("videodata.", StringComparison.Ordinal) && m.Key is not ("videodata.feature_layout" or "videodata.index") && m.Value.Length <= 300)
            .OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => (IReadOnlyList<string>)[m.Key["videodata.".Length..], m.Value]).ToList();
        if (files.Plan is { } plan)
        {
            lineage.Insert(0, ["manifest", plan.Manifest]);
            lineage.Insert(1, ["shard_size", plan.ShardSize.ToString(c)]);
        }

        page.Table(["setting", "value"], lineage, "lineage");
        await page.WriteAsync(htmlPath, cancellationToken).ConfigureAwait(false);
        return new CorpusReportResult(Path.GetFullPath(htmlPath), status, health.Videos, health.Verdict, health.Level);
    }

    /// <summary>
    /// At most <see cref="CorpusReportOptions.SampleVideos"/> rows: the first row group of up to
    /// <see cref="CorpusReportOptions.SampleShards"/> evenly spaced shards, an equal share from each.
    /// </summary>
    private static async Task<(List<FeatureRecord> Sample, IReadOnlyDictionary<string, string> Metadata, List<string> Problems)> SampleAsync(IBlobStore output, CorpusReportOptions options, CancellationToken cancellationToken)
    {
        var shards = new List<string>();
        await foreach (var blob in output.ListAsync("shards/", cancellationToken).ConfigureAwait(false))
        {
            if (blob.Key.EndsWith(".parquet", StringComparison.Ordinal) && !blob.Key["shards/".Length..].Contains('/', StringComparison.Ordinal))
            {
                shards.Add(blob.Key);
            }
        }

        var take = Math.Min(options.SampleShards, shards.Count);
        var chosen = Enumerable.Range(0, take).Select(i => shards[(int)((long)i * shards.Count / take)]).Distinct().ToList();
        var sample = new List<FeatureRecord>();
        var problems = new List<string>();
        IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
        var share = take == 0 ? 0 : (options.SampleVideos + take - 1) / take;
        foreach (var key in chosen)
        {
            try
            {
                var stream = await output.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
                var reader = await FeatureShardReader.OpenAsync(stream, output.UriOf(key), leaveOpen: false, cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    if (metadata.Count == 0)
                    {
                        metadata = new Dictionary<string, string>(reader.Metadata);
                    }

                    if (reader.RowGroupCount > 0)
                    {
                        var rows = await reader.ReadRowGroupAsync(0, cancellationToken).ConfigureAwait(false);
                        sample.AddRange(rows.Take(Math.Min(share, options.SampleVideos - sample.Count)));
                    }
                }
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or VideoData.Core.Failures.VideoDataException)
            {
                problems.Add($"{output.UriOf(key)} could not be sampled: {ex.Message}");
            }

            if (sample.Count >= options.SampleVideos)
            {
                break;
            }
        }

        return (sample, metadata, problems);
    }

    private static string ThroughputPlot(JobFiles files)
    {
        var timed = files.Stats.Values.Where(x => x.FinishedAt is not null && x.WallSeconds > 0).ToList();
        if (timed.Count == 0)
        {
            return Plots.Lines("Throughput per worker", "hours since the first shard started", "video-s per s", []);
        }

        var origin = timed.Min(x => x.StartedAt ?? x.FinishedAt!.Value);
        var byWorker = timed.GroupBy(x => x.Worker ?? "unknown worker").OrderByDescending(g => g.Count()).ToList();
        var shown = byWorker.Take(12).Select(g => (Name: g.Key, Items: g.AsEnumerable())).ToList();
        if (byWorker.Count > 12)
        {
            shown.Add(($"{byWorker.Count - 12} other workers", byWorker.Skip(12).SelectMany(g => g)));
        }

        return Plots.Lines(
            "Throughput per worker",
            "hours since the first shard started",
            "video-s per s",
            shown.Select(w =>
            {
                var points = w.Items.OrderBy(x => x.FinishedAt).ToList();
                return (w.Name, points.Select(x => (x.FinishedAt!.Value - origin).TotalHours).ToArray(), points.Select(x => x.SecondsProcessed / x.WallSeconds).ToArray());
            }),
            markers: true);
    }

    /// <summary>Every shard as a coloured square (state), with its name and state as the square's tooltip.</summary>
    internal static string ShardGrid(IReadOnlyList<ShardStatus> shards)
    {
        const int cell = 14, perRow = 50;
        var colors = new Dictionary<string, string>
        {
            [ShardStates.Done] = "#2a9d5c",
            [ShardStates.Running] = "#3b7dd8",
            [ShardStates.Partial] = "#e0a526",
            [ShardStates.Stale] = "#d1495b",
            [ShardStates.Corrupt] = "#7b2d8e",
            [ShardStates.NotStarted] = "#cccccc",
        };
        var rows = Math.Max(1, (shards.Count + perRow - 1) / perRow);
        var width = Math.Min(Math.Max(shards.Count, 1), perRow) * cell;
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"<figure class=\"plot\" id=\"shard-grid\"><svg xmlns=\"http://www.w3.org/2000/svg\" class=\"grid\" width=\"{width}\" height=\"{rows * cell}\">");
        for (var i = 0; i < shards.Count; i++)
        {
            var shard = shards[i];
            b.Append(CultureInfo.InvariantCulture, $"<rect x=\"{(i % perRow) * cell}\" y=\"{(i / perRow) * cell}\" width=\"{cell}\" height=\"{cell}\" fill=\"{colors.GetValueOrDefault(shard.State, "#999")}\" data-state=\"{shard.State}\">")
                .Append(CultureInfo.InvariantCulture, $"<title>{HtmlPage.Escape(shard.Name)}: {shard.State}, {shard.Done} done, {shard.Failed} failed{(shard.Note is null ? string.Empty : " — " + HtmlPage.Escape(shard.Note))}</title></rect>");
        }

        b.Append("</svg><figcaption>Shards by state: ");
        b.AppendJoin(", ", colors.Select(kv => $"<span style=\"color:{kv.Value}\">&#9632;</span> {kv.Key.Replace('_', ' ')} ({shards.Count(x => x.State == kv.Key)})"));
        b.Append(". Hover a square for its shard.</figcaption></figure>");
        return b.ToString();
    }
}
