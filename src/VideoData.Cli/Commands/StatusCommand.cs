using System.CommandLine;
using System.Globalization;
using VideoData.Pipeline.Status;
using VideoData.Storage.Blobs;

namespace VideoData.Cli.Commands;

/// <summary><c>videodata status OUTPUT [--json] [--watch SECONDS]</c>: where a preprocessing job stands across all its workers.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var output = new Argument<string>("output")
        {
            Description = "The job's output (the pipeline's `output`): a folder, file:///abs/path or s3://bucket/prefix.",
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON document (snake_case; every shard listed) instead of the screen; with --watch, one document per line." };
        var watch = new Option<double?>("--watch") { Description = "Look again every SECONDS seconds until Ctrl+C (the screen is redrawn on a terminal).", HelpName = "SECONDS" };
        var window = new Option<double>("--rate-window") { Description = "Minutes of the \"now\" throughput window.", DefaultValueFactory = _ => 60, HelpName = "MINUTES" };
        var storage = new StorageFlags();
        var command = new Command(
            "status",
            "Shows where a preprocessing job stands across all its workers, from the output alone: shards done / in progress / not started "
            + "(of plan.json), videos done / failed / pending, failures by class with the three most common messages and example video ids, "
            + "throughput now and overall, ETA, workers seen (leases and stats) with their last heartbeat, shards held by a dead worker (stale lease), "
            + "interrupted shards (work files, no lease) and stragglers (in progress for more than 3x the median shard time). "
            + "It costs listings and small reads only, never the shard Parquet files; a corrupt ledger is reported, not fatal.\n\n"
            + "Examples:\n"
            + "  videodata status out/demo/features\n"
            + "  videodata status s3://bucket/howto100m/features --watch 60\n"
            + "  videodata status s3://bucket/howto100m/features --json | jq .videos")
        {
            output, json, watch, window,
        };
        storage.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var target = parseResult.GetValue(output)!;
            try
            {
                var every = parseResult.GetValue(watch);
                if (every is <= 0 or > 86400)
                {
                    throw new ArgumentException($"--watch {every} must be between 0 and 86400 seconds.");
                }

                var minutes = parseResult.GetValue(window);
                if (!(minutes > 0))
                {
                    throw new ArgumentException($"--rate-window {minutes} must be a positive number of minutes.");
                }

                var options = new JobStatusOptions { RateWindow = TimeSpan.FromMinutes(minutes), ReadConcurrency = 32 }.Validate();
                var storeOptions = storage.Options(parseResult);
                // Status is hundreds of tiny reads: latency-bound, so more of them in flight than a worker's default.
                storeOptions.S3.MaxConcurrency = Math.Max(storeOptions.S3.MaxConcurrency, 32);
                using var resolver = new BlobStoreResolver(storeOptions);
                var store = JobFiles.OpenOutput(resolver, target);
                var asJson = parseResult.GetValue(json);
                var redraw = every is not null && !asJson && !Console.IsOutputRedirected;
                while (true)
                {
                    var status = await JobStatusReader.ReadAsync(store, options, cancellationToken).ConfigureAwait(false);
                    var text = asJson ? JobStatusText.ToJson(status, indented: every is null) : JobStatusText.Render(status);
                    if (redraw)
                    {
                        Console.Clear();
                    }

                    Console.WriteLine(text);
                    if (every is not { } seconds)
                    {
                        return 0;
                    }

                    if (redraw)
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"(every {seconds:G} s; Ctrl+C to stop)"));
                    }

                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(seconds), cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return 0;
                    }
                }
            }
            catch (Exception ex) when (CommandFailures.IsInputFailure(ex))
            {
                return StorageFlags.Report("status", target, "input", ex);
            }
        });
        return command;
    }
}
