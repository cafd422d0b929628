using System.CommandLine;
using System.Globalization;
using VideoData.Shards;
using VideoData.Storage.Blobs;

namespace VideoData.Cli.Commands;

/// <summary><c>videodata inspect SHARD [--video ID]</c>: what a feature shard holds.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var shard = new Argument<string>("shard")
        {
            Description = "The feature shard (Parquet): a path, file:///abs/path or s3://bucket/key.",
        };
        var video = new Option<string?>("--video")
        {
            Description = "Also show this video's shape, duration, caption count and feature statistics (reads only its row group).",
        };
        var storage = new StorageFlags();
        var command = new Command(
            "inspect",
            "Prints a feature shard's schema, lineage metadata (encoder, weights hash, fps, size, crop, dtype, normalization, tool version), "
            + "row and row-group counts, and with --video one video's details. Exits 1 with one line naming the shard when it is not a readable feature shard.")
        {
            shard,
            video,
        };
        storage.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var target = parseResult.GetValue(shard)!;
            try
            {
                var reader = await OpenAsync(target, storage, parseResult, cancellationToken).ConfigureAwait(false);
                await using var disposeReader = reader.ConfigureAwait(false);
                PrintShard(target, reader);
                if (parseResult.GetValue(video) is { } id)
                {
                    if (!reader.Contains(id))
                    {
                        Console.Error.WriteLine($"videodata inspect: {target}: no video '{id}' in this shard ({reader.VideoCount} videos).");
                        return 1;
                    }

                    PrintVideo(await reader.ReadVideoAsync(id, cancellationToken).ConfigureAwait(false));
                }

                return 0;
            }
            catch (Exception e) when (CommandFailures.IsInputFailure(e))
            {
                return CommandFailures.Report("inspect", target, e, 1);
            }
        });
        return command;
    }

    private static async Task<ReaderWithOwner> OpenAsync(string target, StorageFlags storage, ParseResult parseResult, CancellationToken cancellationToken)
    {
        if (!target.Contains("://", StringComparison.Ordinal))
        {
            return new ReaderWithOwner(await FeatureShardReader.OpenAsync(target, cancellationToken).ConfigureAwait(false), null);
        }

        var resolver = new BlobStoreResolver(storage.Options(parseResult));
        try
        {
            var (store, key) = resolver.Resolve(target);
            var stream = await store.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
            return new ReaderWithOwner(await FeatureShardReader.OpenAsync(stream, target, leaveOpen: false, cancellationToken).ConfigureAwait(false), resolver);
        }
        catch
        {
            resolver.Dispose();
            throw;
        }
    }

    private static void PrintShard(string target, ReaderWithOwner shard)
    {
        var reader = shard.Reader;
        Console.WriteLine($"shard       {target}");
        Console.WriteLine($"videos      {reader.VideoCount}");
        Console.WriteLine($"row groups  {reader.RowGroupCount}");
        Console.WriteLine("schema");
        foreach (var line in reader.SchemaDescription.Split(Environment.NewLine))
        {
            Console.WriteLine($"  {line}");
        }

        Console.WriteLine("lineage");
        foreach (var (key, value) in reader.Metadata.Where(kv => kv.Key != FeatureShardFormat.IndexKey).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"  {key} = {value}");
        }
    }

    private static void PrintVideo(FeatureRecord record)
    {
        static string N(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
        var values = record.Features;
        var mean = values.Length == 0 ? 0 : values.Average(v => (double)v);
        var std = values.Length == 0 ? 0 : Math.Sqrt(values.Average(v => ((double)v - mean) * ((double)v - mean)));
        var norms = Enumerable.Range(0, record.Seconds)
            .Select(s => Math.Sqrt(values.AsSpan(s * record.Dim, record.Dim).ToArray().Sum(v => (double)v * v)))
            .ToList();
        Console.WriteLine($"video       {record.VideoId}");
        Console.WriteLine($"  duration  {N(record.Duration)} s");
        Console.WriteLine($"  features  [{record.Seconds}, {record.Dim}]");
        Console.WriteLine($"  mixed_5c  {(record.Mixed5c is null ? "absent" : $"[{record.Seconds}, {record.Mixed5cDim}]")}");
        Console.WriteLine($"  captions  {record.Captions.Count} segment(s)");
        if (values.Length > 0)
        {
            Console.WriteLine($"  values    min {N(values.Min())}  max {N(values.Max())}  mean {N(mean)}  std {N(std)}");
            Console.WriteLine($"  row norms min {N(norms.Min())}  max {N(norms.Max())}");
        }
    }

    /// <summary>A reader and the resolver that owns its store, disposed together.</summary>
    private sealed class ReaderWithOwner(FeatureShardReader reader, IDisposable? owner) : IAsyncDisposable
    {
        public FeatureShardReader Reader { get; } = reader;

        public bool Contains(string id) => Reader.Contains(id);

        public int VideoCount => Reader.VideoCount;

        public Task<FeatureRecord> ReadVideoAsync(string id, CancellationToken cancellationToken) => Reader.ReadVideoAsync(id, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await Reader.DisposeAsync().ConfigureAwait(false);
            owner?.Dispose();
        }
    }
}
