using System.Globalization;
using VideoData.Reports.Html;
using VideoData.Training.Plans;
using VideoData.Training.Retrieval;

namespace VideoData.Reports.Training;

/// <summary>What <see cref="TrainingReport.WriteAsync"/> wrote.</summary>
/// <param name="Path">The HTML file.</param>
/// <param name="Steps">Steps plotted.</param>
/// <param name="Epochs">Epochs plotted.</param>
/// <param name="ClusteredEpochs">Clustered epochs whose in-batch similarity was compared with shuffled batches.</param>
public sealed record TrainingReportResult(string Path, int Steps, int Epochs, int ClusteredEpochs);

/// <summary>
/// The HTML report of a <c>videodata train</c> output folder: loss and learning rate per step, step time and the share
/// of it spent waiting for data, held-out R@1/R@5 per epoch, and for clustered epochs the mean in-batch cosine similarity
/// of the clustered batches against shuffled batches of the same videos (what the hard negatives bought). Reads
/// <c>train-log.jsonl</c>, and <c>plans/</c> with <c>embeddings/</c> when they exist; self-contained like every report.
/// </summary>
public static class TrainingReport
{
    /// <summary>Batches per epoch whose similarity is measured (evenly spaced); bounds the cost on a large corpus.</summary>
    public const int MaxBatchesCompared = 256;

    /// <summary>Whether <paramref name="folder"/> looks like a training output (it has a train-log.jsonl).</summary>
    public static bool IsTrainingOutput(string folder) => File.Exists(Path.Combine(folder, TrainingLog.FileName));

    /// <summary>Reads the training output <paramref name="folder"/> and writes the report to <paramref name="htmlPath"/>.</summary>
    public static async Task<TrainingReportResult> WriteAsync(string folder, string htmlPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var logPath = Path.Combine(folder, TrainingLog.FileName);
        if (!File.Exists(logPath))
        {
            throw new FileNotFoundException($"{Path.GetFullPath(folder)} has no {TrainingLog.FileName}: it is not the output folder of `videodata train`.", logPath);
        }

        var log = await TrainingLog.ReadAsync(logPath, cancellationToken).ConfigureAwait(false);
        var c = CultureInfo.InvariantCulture;
        var page = new HtmlPage($"VideoData training report: {Path.GetFullPath(folder)}");
        page.Paragraph(string.Create(c, $"{log.Steps.Count} steps over {log.Epochs.Count} epochs from {TrainingLog.FileName}{(log.SkippedLines > 0 ? $" ({log.SkippedLines} unreadable line(s) skipped)" : string.Empty)}."), "muted");

        var x = log.Steps.Select(s => (double)s.GlobalStep).ToArray();
        page.Heading("Optimization");
        page.Figure("plot-loss", Plots.Lines("Loss per step", "global step", "symmetric InfoNCE loss", [("loss", x, log.Steps.Select(s => s.Loss).ToArray())]), "The batch's loss after each optimizer step.");
        page.Figure("plot-learning-rate", Plots.Lines("Learning rate per step", "global step", "learning rate", [("lr", x, log.Steps.Select(s => s.LearningRate).ToArray())]), "Warm-up, then the schedule.");

        page.Heading("Speed");
        page.Figure("plot-step-time", Plots.Lines("Step time", "global step", "milliseconds", [("whole step", x, log.Steps.Select(s => s.StepMs).ToArray()), ("waiting for data", x, log.Steps.Select(s => s.DataWaitMs).ToArray())]), "Wall time of each step and the part of it the trainer waited for its batch.");
        var totalStep = log.Steps.Sum(s => s.StepMs);
        var share = totalStep > 0 ? log.Steps.Sum(s => s.DataWaitMs) / totalStep : double.NaN;
        page.Figure("plot-data-wait", Plots.Bars("Data-wait share per epoch", "% of step time", log.Epochs.Select(e => e.Epoch.ToString(c)).ToList(), log.Epochs.Select(e => e.DataWaitShare * 100).ToList()), string.Create(c, $"Over the whole run the trainer waited for data {share:P2} of its step time."));
        page.Paragraph(
            double.IsNaN(share) ? "No steps were logged." : share < 0.02 ? string.Create(c, $"The data path keeps up: {share:P2} of step time is spent waiting for batches.") : string.Create(c, $"The trainer waits for data {share:P1} of its step time: the batch stream is a bottleneck (more prefetch, a disk cache or faster storage would help)."),
            double.IsNaN(share) || share < 0.02 ? "verdict" : "verdict warn");

        page.Heading("Held-out retrieval");
        var evaluated = log.Epochs.Where(e => e.RecallAt1 is not null).ToList();
        if (evaluated.Count == 0)
        {
            page.Paragraph("No held-out evaluation in this run (no held-out videos).", "verdict warn");
        }

        var ex = evaluated.Select(e => (double)e.Epoch).ToArray();
        page.Figure("plot-recall", Plots.Lines("Held-out text→video recall", "epoch", "recall", [("R@1", ex, evaluated.Select(e => e.RecallAt1!.Value).ToArray()), ("R@5", ex, evaluated.Select(e => e.RecallAt5 ?? double.NaN).ToArray())], markers: true),
            evaluated.Count == 0 ? "No evaluation." : string.Create(c, $"Chance R@1 is 1/{evaluated[^1].EvalClips} = {1.0 / Math.Max(1, evaluated[^1].EvalClips):P1}."));

        page.Heading("Clustered batches (retrieval-augmented hard negatives)");
        var clustered = await ClusteredSimilarityAsync(folder, cancellationToken).ConfigureAwait(false);
        if (clustered.Count == 0)
        {
            page.Paragraph("No clustered epochs: this run's plans are shuffled (retrieval.enabled is off), or their embeddings were not kept.", "muted");
        }
        else
        {
            page.Figure("plot-batch-similarity", Plots.GroupedBars("Mean in-batch cosine similarity", "mean pairwise cosine",
                clustered.Select(e => e.Epoch.ToString(c)).ToList(),
                [("clustered", clustered.Select(e => e.Clustered).ToArray()), ("shuffled", clustered.Select(e => e.Shuffled).ToArray())]),
                "For each clustered epoch: how alike the videos of a batch are (embeddings the plan was made from), against a seeded shuffle of the same videos into batches of the same size. The gap is what the hard negatives bought.");
            page.Table(["epoch", "clustered", "shuffled", "ratio"], clustered.Select(e => (IReadOnlyList<string>)[e.Epoch.ToString(c), e.Clustered.ToString("F4", c), e.Shuffled.ToString("F4", c), (e.Clustered / e.Shuffled).ToString("F2", c)]), "batch-similarity");
        }

        await page.WriteAsync(htmlPath, cancellationToken).ConfigureAwait(false);
        return new TrainingReportResult(Path.GetFullPath(htmlPath), log.Steps.Count, log.Epochs.Count, clustered.Count);
    }

    /// <summary>Per epoch whose embeddings were kept and whose plan is clustered: mean in-batch similarity, clustered vs shuffled.</summary>
    internal static async Task<List<(int Epoch, double Clustered, double Shuffled)>> ClusteredSimilarityAsync(string folder, CancellationToken cancellationToken)
    {
        var result = new List<(int, double, double)>();
        var embeddingsDir = Path.Combine(folder, "embeddings");
        if (!Directory.Exists(embeddingsDir))
        {
            return result;
        }

        foreach (var file in Directory.EnumerateFiles(embeddingsDir, "embeddings-epoch-*.parquet").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (!int.TryParse(name["embeddings-epoch-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var epoch))
            {
                continue;
            }

            var planPath = Path.Combine(folder, "plans", string.Create(CultureInfo.InvariantCulture, $"epoch-{epoch:D4}.parquet"));
            if (!File.Exists(planPath))
            {
                continue;
            }

            var plan = await BatchPlan.ReadAsync(planPath, cancellationToken).ConfigureAwait(false);
            if (plan.Kind != BatchPlanKinds.Clustered)
            {
                continue;
            }

            var embeddings = await EmbeddingsFile.ReadAsync(file, cancellationToken).ConfigureAwait(false);
            var shuffled = BatchPlan.Shuffled(embeddings.VideoIds, plan.BatchVideos, plan.Seed, epoch);
            result.Add((epoch, MeanInBatch(embeddings, plan), MeanInBatch(embeddings, shuffled)));
        }

        return result;
    }

    private static double MeanInBatch(VideoEmbeddings embeddings, BatchPlan plan)
    {
        var known = embeddings.VideoIds.ToHashSet(StringComparer.Ordinal);
        var batches = plan.Batches.Select(b => b.Where(known.Contains).ToList()).Where(b => b.Count >= 2).ToList();
        if (batches.Count == 0)
        {
            return double.NaN;
        }

        var step = Math.Max(1, batches.Count / MaxBatchesCompared);
        return batches.Where((_, i) => i % step == 0).Take(MaxBatchesCompared).Average(b => BatchSimilarity.MeanPairwiseCosine(embeddings, b));
    }
}
