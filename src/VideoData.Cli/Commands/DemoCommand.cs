using System.CommandLine;
using VideoData.Cli.Progress;
using VideoData.Features.Runtime;
using VideoData.Pipeline.Demo;
using VideoData.Pipeline.Definition;
using VideoData.Pipeline.Status;
using VideoData.Reports.Corpus;
using VideoData.Storage.Blobs;
using VideoData.Storage.Sharding;

namespace VideoData.Cli.Commands;

/// <summary><c>videodata demo</c>: the main job end to end on the embedded default (local folder, CPU, a generated corpus).</summary>
internal static class DemoCommand
{
    /// <param name="computeThread">The thread the encoder's libtorch work runs on (the CLI's main thread); null: a dedicated one.</param>
    public static Command Create(ComputeThread? computeThread = null)
    {
        var folder = new Option<string>("--out") { Description = "Folder for the generated corpus (corpus/) and the outputs (features/).", DefaultValueFactory = _ => "out/demo" };
        var videos = new Option<int>("--videos") { Description = "Good videos to generate (four broken ones are added).", DefaultValueFactory = _ => 8 };
        var seconds = new Option<double>("--seconds") { Description = "Length of each generated video in seconds.", DefaultValueFactory = _ => 2 };
        var weights = new Option<string?>("--weights") { Description = "S3D-G weights (s3d_howto100m.pth or .safetensors). Without them the encoder is randomly initialised and the features are not meaningful." };
        var progress = new Option<ProgressMode>("--progress") { Description = "auto, live, json or none.", DefaultValueFactory = _ => ProgressMode.Auto };
        var command = new Command(
            "demo",
            "Generates a small corpus (short synthetic videos with captions in HowTo100M JSON, WebVTT and SRT, plus a few broken videos "
            + "and captions) and preprocesses it to a local folder on the CPU, end to end: what `preprocess` does at scale. "
            + "Ends by writing OUT/report.html (plots of progress, failures, durations, captions and feature health; see `videodata report`) and printing its path.")
        {
            folder, videos, seconds, weights, progress,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var root = Path.GetFullPath(parseResult.GetValue(folder)!);
            Console.Error.WriteLine($"videodata demo: generating the sample corpus in {Path.Combine(root, "corpus")} ...");
            DemoCorpusInfo corpus;
            try
            {
                corpus = await DemoCorpus.GenerateAsync(Path.Combine(root, "corpus"), parseResult.GetValue(videos), parseResult.GetValue(seconds), cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException ex)
            {
                Console.Error.WriteLine($"videodata demo: {ex.Message}");
                return 1;
            }

            Console.Error.WriteLine($"videodata demo: {corpus.Videos} videos ({corpus.BrokenVideos.Count} deliberately broken: {string.Join(", ", corpus.BrokenVideos)}; "
                + $"broken captions: {string.Join(", ", corpus.BrokenCaptions)})");
            var overrides = new List<string>
            {
                $"manifest=\"{corpus.Manifest}\"",
                $"output=\"{Path.Combine(root, "features")}\"",
                "name=\"demo\"",
                "shard_size=8",
                "decode.decoder=\"cpu\"",
                "decode.threads=1",
                "decode.timeout_seconds=60",
                "encoder.device=\"cpu\"",
                "encoder.seconds_per_batch=8",
                "stages.decode_parallelism=2",
                "stages.decoded_seconds_capacity=16",
                "stages.encoded_videos_capacity=8",
            };
            if (parseResult.GetValue(weights) is { } path)
            {
                overrides.Add($"encoder.weights=\"{path}\"");
            }

            var definition = PipelineDefinitionLoader.Load(null, overrides);
            var exit = await PreprocessCommand.RunAsync(definition, WorkerSlot.Single, retryFailed: false, parseResult.GetValue(progress), computeThread, cancellationToken, summary =>
            {
                // Shard data files are uniquely named; the ledger names the current one.
                var first = summary.Ledgers.FirstOrDefault(l => l.DataFile is not null)?.DataFile ?? "shards/shard-00000-….parquet";
                Console.Error.WriteLine($"videodata demo: done. Inspect a shard with `videodata inspect {Path.Combine(root, "features", first)}`; "
                    + $"failures and their reasons are in {Path.Combine(root, "features", "ledger")}.");
                if (summary.RandomWeights)
                {
                    Console.Error.WriteLine("videodata demo: the encoder used random weights, so the features are NOT meaningful. "
                        + "Download the MIL-NCE HowTo100M checkpoint s3d_howto100m.pth and run `videodata demo --weights s3d_howto100m.pth` for real features.");
                }
            }).ConfigureAwait(false);
            if (exit != 0)
            {
                return exit;
            }

            // The run ends with the report: what a person opens first.
            using var resolver = new BlobStoreResolver(new BlobStoreOptions());
            var report = await CorpusReport.WriteAsync(JobFiles.OpenOutput(resolver, Path.Combine(root, "features")), Path.Combine(root, "report.html"), cancellationToken: cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"videodata demo: features: {report.FeatureVerdict}");
            Console.WriteLine($"videodata demo: report written to {report.Path} (open it in a browser; `videodata status {Path.Combine(root, "features")}` shows the same counts as text)");
            return 0;
        });
        return command;
    }
}
