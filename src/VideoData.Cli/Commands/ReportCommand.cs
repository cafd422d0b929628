using System.CommandLine;
using VideoData.Pipeline.Status;
using VideoData.Reports.Corpus;
using VideoData.Reports.Training;
using VideoData.Storage.Blobs;

namespace VideoData.Cli.Commands;

/// <summary><c>videodata report OUTPUT --html report.html</c>: one self-contained HTML page about a preprocessing or training output.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var output = new Argument<string>("output")
        {
            Description = "A preprocessing output (folder, file:// or s3://bucket/prefix) or a `videodata train` output folder (it holds train-log.jsonl).",
        };
        var html = new Option<string>("--html") { Description = "Where to write the report (one self-contained file: plots inline as SVG, no scripts, no network).", DefaultValueFactory = _ => "report.html", HelpName = "FILE" };
        var sample = new Option<int>("--sample-videos") { Description = "Most videos whose features are read for the feature and caption plots (1-4096).", DefaultValueFactory = _ => 256, HelpName = "N" };
        var storage = new StorageFlags();
        var command = new Command(
            "report",
            "Writes an HTML report with plots. For a preprocessing output: progress and a per-shard grid, throughput over time per worker, "
            + "failures by class with their messages, video durations, processing time per video, caption coverage, feature norms and per-video "
            + "mean cosine similarity (with a verdict in words when the features look collapsed or come from random weights), and lineage. "
            + "Counts come from the small files (as `status`); feature plots read at most --sample-videos rows. "
            + "For a training output: loss and learning rate per step, step time and data-wait share, held-out R@1/R@5 per epoch, and for "
            + "clustered epochs the in-batch similarity of clustered vs shuffled batches.\n\n"
            + "Examples:\n"
            + "  videodata report out/demo/features --html out/demo/report.html\n"
            + "  videodata report s3://bucket/howto100m/features --html howto100m.html\n"
            + "  videodata report out/train-tiny --html train.html")
        {
            output, html, sample,
        };
        storage.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var target = parseResult.GetValue(output)!;
            var file = parseResult.GetValue(html)!;
            try
            {
                if (!target.Contains("://", StringComparison.Ordinal) && TrainingReport.IsTrainingOutput(target))
                {
                    var training = await TrainingReport.WriteAsync(target, file, cancellationToken).ConfigureAwait(false);
                    Console.WriteLine($"videodata report: training report ({training.Steps} steps, {training.Epochs} epochs, {training.ClusteredEpochs} clustered) written to {training.Path}");
                    return 0;
                }

                using var resolver = new BlobStoreResolver(storage.Options(parseResult));
                var result = await CorpusReport.WriteAsync(JobFiles.OpenOutput(resolver, target), file, new CorpusReportOptions { SampleVideos = parseResult.GetValue(sample) }, cancellationToken).ConfigureAwait(false);
                Console.WriteLine($"videodata report: features: {result.FeatureVerdict}");
                Console.WriteLine($"videodata report: corpus report ({result.Status.Shards.Done} shards done, {result.SampledVideos} videos sampled) written to {result.Path}");
                return 0;
            }
            catch (Exception ex) when (CommandFailures.IsInputFailure(ex))
            {
                return StorageFlags.Report("report", target, "input", ex);
            }
        });
        return command;
    }
}
