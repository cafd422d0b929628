using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using VideoData.Core.Failures;
using VideoData.Storage.Blobs;
using VideoData.Storage.S3;

namespace VideoData.Cli.Commands;

/// <summary><c>videodata ls URI</c>: lists the objects under a location (S3 prefix or local folder).</summary>
internal static class LsCommand
{
    public static Command Create()
    {
        var uri = new Argument<string>("uri")
        {
            Description = "What to list: s3://bucket/prefix, file:///abs/folder, or a path relative to --root. Every object whose key starts with the given key is listed (recursively).",
        };
        var json = new Option<bool>("--json") { Description = "Print JSON Lines ({\"uri\",\"size\",\"last_modified\"} per object) instead of a table." };
        var limit = new Option<int>("--limit")
        {
            Description = "Stop after this many objects (0: no limit).",
            DefaultValueFactory = _ => 0,
        };
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--limit must be 0 or more.");
            }
        });
        var storage = new StorageFlags();
        var command = new Command("ls", "Lists objects under a storage location with their sizes and times, then a total. S3 settings come from the environment (AWS_* and VIDEODATA_S3_*) and the --s3-* options.")
        {
            uri,
            json,
            limit,
        };
        storage.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var target = parseResult.GetValue(uri)!;
            try
            {
                using var resolver = new BlobStoreResolver(storage.Options(parseResult));
                var (store, prefix) = resolver.Resolve(target);
                var max = parseResult.GetValue(limit);
                var asJson = parseResult.GetValue(json);
                long count = 0;
                long bytes = 0;
                await foreach (var blob in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
                {
                    count++;
                    bytes += blob.Length;
                    var when = blob.LastModified.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                    Console.WriteLine(asJson
                        ? JsonSerializer.Serialize(new { uri = store.UriOf(blob.Key), size = blob.Length, last_modified = when })
                        : $"{blob.Length,14}  {when}  {store.UriOf(blob.Key)}");
                    if (max > 0 && count >= max)
                    {
                        break;
                    }
                }

                if (!asJson)
                {
                    Console.WriteLine($"{count} object{(count == 1 ? "" : "s")}, {bytes} bytes");
                }

                return 0;
            }
            catch (Exception ex) when (CommandFailures.IsInputFailure(ex))
            {
                return StorageFlags.Report("ls", target, "invalid location", ex);
            }
        });
        return command;
    }
}

/// <summary>The storage options of commands that read or list storage: local root and S3 settings, over the environment.</summary>
internal sealed class StorageFlags
{
    private readonly Option<string?> _root = new("--root") { Description = "Folder that plain (relative) paths are resolved against; they may not leave it. Default: the current directory." };
    private readonly Option<string?> _endpoint = new("--s3-endpoint") { Description = "S3-compatible endpoint URL, e.g. http://127.0.0.1:4568 (default: $VIDEODATA_S3_ENDPOINT, $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else AWS S3)." };
    private readonly Option<string?> _region = new("--s3-region") { Description = "S3 region (default: $AWS_REGION, else us-east-1)." };
    private readonly Option<bool?> _pathStyle = new("--s3-path-style") { Description = "Address buckets path-style (host/bucket/key); most S3-compatible servers need it (default: $VIDEODATA_S3_PATH_STYLE, else false)." };
    private readonly Option<bool?> _chunkEncoding = new("--s3-chunk-encoding") { Description = "Send uploads with aws-chunked encoding; turn off for servers that do not support it (default: $VIDEODATA_S3_CHUNK_ENCODING, else true)." };
    private readonly Option<string?> _checksum = new("--s3-checksum") { Description = "when_required or when_supported: when to compute and validate checksums (default: $VIDEODATA_S3_CHECKSUM, else when_supported)." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _root, _endpoint, _region, _pathStyle, _chunkEncoding, _checksum })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>
    /// Prints <c>videodata COMMAND: INPUT: CLASS: message</c> on standard error and returns the exit code: 2 for
    /// a malformed input (class <paramref name="invalidClass"/>), 1 for a storage failure (class <c>fetch</c>).
    /// </summary>
    public static int Report(string command, string input, string invalidClass, Exception ex)
    {
        var invalid = ex is FormatException or ArgumentException;
        return CommandFailures.Report(command, input, ex, invalid ? 2 : 1, invalid ? invalidClass : FailureClass.Fetch.ToName());
    }

    /// <summary>
    /// The S3 flags given, as pipeline overrides (<c>s3.endpoint_url=...</c>), for a command that runs the pipeline; the environment
    /// is the pipeline loader's own layer beneath them. <c>--root</c> is not a pipeline field (the command resolves its input with it).
    /// </summary>
    public IEnumerable<string> PipelineOverrides(ParseResult parseResult)
    {
        if (parseResult.GetValue(_endpoint) is { } endpoint)
        {
            yield return $"s3.endpoint_url={System.Text.Json.JsonSerializer.Serialize(endpoint)}";
        }

        if (parseResult.GetValue(_region) is { } region)
        {
            yield return $"s3.region={System.Text.Json.JsonSerializer.Serialize(region)}";
        }

        if (parseResult.GetValue(_pathStyle) is { } pathStyle)
        {
            yield return $"s3.force_path_style={(pathStyle ? "true" : "false")}";
        }

        if (parseResult.GetValue(_chunkEncoding) is { } chunkEncoding)
        {
            yield return $"s3.use_chunk_encoding={(chunkEncoding ? "true" : "false")}";
        }

        if (parseResult.GetValue(_checksum) is { } checksum)
        {
            yield return $"s3.checksum_mode={System.Text.Json.JsonSerializer.Serialize(checksum)}";
        }
    }

    /// <summary>Environment first, then flags; credentials always from the standard AWS chain. Throws <see cref="ArgumentException"/> naming a bad value.</summary>
    public BlobStoreOptions Options(ParseResult parseResult)
    {
        var s3 = new S3StoreOptions().ApplyEnvironment();
        if (parseResult.GetValue(_endpoint) is { } endpoint)
        {
            s3.ServiceUrl = Uri.TryCreate(endpoint, UriKind.Absolute, out var url) ? url : throw new ArgumentException($"--s3-endpoint '{endpoint}' is not an absolute URL.");
        }

        s3.Region = parseResult.GetValue(_region) ?? s3.Region;
        s3.ForcePathStyle = parseResult.GetValue(_pathStyle) ?? s3.ForcePathStyle;
        s3.UseChunkEncoding = parseResult.GetValue(_chunkEncoding) ?? s3.UseChunkEncoding;
        if (parseResult.GetValue(_checksum) is { } checksum)
        {
            s3.ChecksumMode = S3StoreOptions.ParseChecksumMode(checksum);
        }

        return new BlobStoreOptions { LocalRoot = parseResult.GetValue(_root), S3 = s3 };
    }
}
