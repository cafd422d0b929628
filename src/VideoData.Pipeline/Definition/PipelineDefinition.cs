using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using VideoData.Captions.Cleaning;
using VideoData.Core.Configuration;
using VideoData.Features.Runtime;
using VideoData.Media.Decode;

namespace VideoData.Pipeline.Definition;

/// <summary>
/// A preprocessing pipeline as users write it in <c>pipelines/*.json</c> (snake_case keys). Every field
/// has a default that reproduces the reference (DESIGN §3) and can be overridden from the command line
/// with <c>--set section.field=value</c> or the dedicated flags. Load with <see cref="PipelineDefinitionLoader"/>,
/// which validates once and names the bad field and value.
/// </summary>
public sealed record PipelineDefinition
{
    /// <summary>A name for logs and lineage.</summary>
    public string Name { get; init; } = "pipeline";

    /// <summary>Corpus manifest (CSV, JSON Lines or Parquet) with at least <c>video_id</c>; a path or URI.</summary>
    public string? Manifest { get; init; }

    /// <summary>Template for a video's URI when the manifest has no <c>uri</c> column, e.g. <c>s3://bucket/videos/{video_id}.mp4</c>.</summary>
    public string? UriTemplate { get; init; }

    /// <summary>Root that plain (relative) paths in the manifest resolve against; defaults to the manifest's folder.</summary>
    public string? SourceRoot { get; init; }

    /// <summary>Where shards, ledgers and stats are written (a local folder or an <c>s3://</c> prefix).</summary>
    public string Output { get; init; } = "out/features";

    /// <summary>Videos per shard (deterministic assignment, DESIGN §4).</summary>
    public int ShardSize { get; init; } = 4096;

    /// <summary>Number of workers, when the scheduler does not say (Kubernetes Indexed Jobs give only the index).</summary>
    public int? ShardCount { get; init; }

    /// <summary>Decoding settings.</summary>
    public DecodeSection Decode { get; init; } = new();

    /// <summary>Feature encoder settings.</summary>
    public EncoderSection Encoder { get; init; } = new();

    /// <summary>Caption source and cleanup settings.</summary>
    public CaptionsSection Captions { get; init; } = new();

    /// <summary>Degree of parallelism per stage and channel capacities.</summary>
    public StagesSection Stages { get; init; } = new();

    /// <summary>S3 client options (endpoint, region, path style, ...); credentials always come from the AWS chain.</summary>
    public S3Section S3 { get; init; } = new();

    /// <summary>How many times a failed video is retried by later runs before it is left as failed.</summary>
    public int MaxRetries { get; init; } = 2;

    /// <summary>Finished videos per committed work segment (a kill loses at most one open segment's videos).</summary>
    public int SegmentVideos { get; init; } = 8;

    /// <summary>A work segment is committed after at most this many seconds, however few videos it has.</summary>
    public double SegmentSeconds { get; init; } = 60;

    /// <summary>A shard lease whose heartbeat is older than this is stale and may be taken over by another worker.</summary>
    public int LeaseStaleSeconds { get; init; } = 120;

    /// <summary>
    /// Videos per Parquet row group of a published shard. Only 1 is supported: the publish assembles a shard by copying each
    /// video's row group byte for byte from the work segments (issue 15), which a row group shared by several videos would
    /// defeat (every publish would decode and re-encode the features). Kept as a setting so <c>videodata features
    /// --videos-per-row-group</c> and the pipeline file say the same thing, and any other value is refused by name.
    /// </summary>
    public int VideosPerRowGroup { get; init; } = 1;
}

/// <summary>Decoding: the reference samples 30 fps, shorter side 224, center crop 224×224.</summary>
public sealed record DecodeSection
{
    /// <summary>Output frame rate.</summary>
    public int Fps { get; init; } = 30;

    /// <summary>Output frame size (square crop).</summary>
    public int Size { get; init; } = 224;

    /// <summary><c>auto</c> (NVDEC when usable, else CPU), <c>cpu</c> or <c>cuda</c>.</summary>
    public DecoderPreference Decoder { get; init; } = DecoderPreference.Auto;

    /// <summary>Decoder threads per video (0 = let FFmpeg choose).</summary>
    public int Threads { get; init; } = 2;

    /// <summary>A decode that makes no progress for this long is stopped (failure class <c>timeout</c>).</summary>
    public double TimeoutSeconds { get; init; } = 120;

    /// <summary>Videos longer than this are rejected at probe time.</summary>
    public double MaxDurationSeconds { get; init; } = 4 * 3600;

    /// <summary>Wall-clock budget of one video's decode, counting only time spent working (failure class <c>timeout</c>).</summary>
    public double MaxDecodeSeconds { get; init; } = 3600;

    /// <summary>Output past the first minute must be paid for by this many input bytes per second (timestamp jumps; failure class <c>decode</c>).</summary>
    public int MinBytesPerSecond { get; init; } = 64;

    /// <summary>FFmpeg demuxers a video may be read with; any other container fails with the <c>probe</c> class (see the Media README).</summary>
    public IReadOnlyList<string> FormatWhitelist { get; init; } = VideoData.Media.Decode.DecodeOptions.DefaultFormatWhitelist;
}

/// <summary>The frozen S3D-G encoder.</summary>
public sealed record EncoderSection
{
    /// <summary>Path to <c>s3d_howto100m.pth</c> (or a safetensors file); null means randomly initialised weights (demo only).</summary>
    public string? Weights { get; init; }

    /// <summary><c>cpu</c> or <c>cuda</c>.</summary>
    public EncoderDevice Device { get; init; } = EncoderDevice.Cpu;

    /// <summary>Seconds of video per forward pass, batched across videos.</summary>
    public int SecondsPerBatch { get; init; } = 16;

    /// <summary>L2-normalise stored features (the reference does).</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>libtorch intra-op threads for the encoder; 0 leaves libtorch's default (one per core).</summary>
    public int Threads { get; init; }

    /// <summary>Also store the 1024-d mean-pooled <c>mixed_5c</c> activations per second (column <c>mixed_5c</c>; off in the reference).</summary>
    [JsonPropertyName("mixed_5c")]
    public bool Mixed5c { get; init; }

    /// <summary>
    /// How feature values are stored: <c>float16</c> (the reference: values rounded to float16 precision, still written as
    /// float32 so any Parquet reader reads them) or <c>float32</c> (full precision). Recorded in the shard's
    /// <c>videodata.feature_dtype</c> metadata.
    /// </summary>
    public FeatureDtype FeatureDtype { get; init; } = FeatureDtype.Float16;

    /// <summary>The CUDA device ordinal used when <see cref="Device"/> is <c>cuda</c> (<c>--device cuda:N</c> sets both); default 0.</summary>
    public int CudaDevice { get; init; }

    /// <summary>
    /// With <c>native_heap</c> = <c>threshold</c>: glibc's mmap threshold in MiB, fixed. Activations at least this large go back to the
    /// system when libtorch frees them; smaller ones are reused from the C heap. 32 (the default, glibc's maximum) keeps
    /// a CPU worker near 1 GB at 8 seconds a batch; 4 brings it to ~0.7 GB but costs ~20% of the encoder's throughput in
    /// page faults; 0 leaves glibc's self-raising default, which keeps ~0.5 GB more. The <c>MALLOC_MMAP_THRESHOLD_</c>
    /// environment variable, when set, wins.
    /// </summary>
    [JsonPropertyName("native_mmap_threshold_mib")]
    public int NativeMmapThresholdMiB { get; init; } = 32;

    /// <summary>
    /// The C heap libtorch's CPU tensors come from: <c>reuse</c> (the default) serves every block from the heap and keeps
    /// freed ones for the next batch, so pages are not zero-filled again each batch (about 1.4× the encoder's CPU
    /// throughput, same peak memory; resident memory stays at that peak); <c>threshold</c> applies
    /// <see cref="NativeMmapThresholdMiB"/>; <c>system</c> leaves glibc's defaults. glibc's own <c>MALLOC_*_</c> and
    /// <c>GLIBC_TUNABLES</c> environment variables, when set, win.
    /// </summary>
    [JsonPropertyName("native_heap")]
    public NativeHeapPolicy NativeHeap { get; init; } = NativeHeapPolicy.Reuse;
}

/// <summary>Where captions come from and how they are cleaned.</summary>
public sealed record CaptionsSection
{
    /// <summary>
    /// Template for a per-video caption file (HowTo100M per-video JSON, WebVTT or SRT, detected from content),
    /// e.g. <c>captions/{video_id}.vtt</c>; or null to use the manifest's <c>caption_uri</c> column when present.
    /// </summary>
    public string? UriTemplate { get; init; }

    /// <summary>
    /// Folder (or <c>s3://</c> prefix) of the caption tables <c>videodata captions import</c> made from HowTo100M's
    /// <c>raw_caption.json</c> (already cleaned and tokenized with the import's settings), joined into the feature shards
    /// by video id when a shard is written; an alternative to per-video caption files, and preferred over them for a
    /// video both name. Each worker reads the tables' video ids once per shard and the segments of its own videos only.
    /// </summary>
    public string? Tables { get; init; }

    /// <summary>
    /// <c>reference</c> (DESIGN §3), <c>words</c> (the reference with overlaps merged only on whole words, so no segment is
    /// cut inside a word) or <c>none</c>.
    /// </summary>
    public DedupMode Dedup { get; init; } = DedupMode.Reference;

    /// <summary>Longest cue text kept (UTF-16 code units); longer texts are cut to it and counted. At least 2.</summary>
    public int MaxCueCharacters { get; init; } = 10_000;

    /// <summary>Seed for the reference dedup's coin flip (combined with the video id).</summary>
    public long Seed { get; init; }

    /// <summary>Also decode HTML entities, apply NFC and collapse whitespace (off: the reference's text handling).</summary>
    public bool Normalize { get; init; }

    /// <summary>When true, a video whose captions are missing or unreadable fails with class <c>captions</c>; when false it is kept without captions.</summary>
    public bool Required { get; init; }

    /// <summary>
    /// The captions' watchdog, beside the video's <c>decode.timeout_seconds</c>: a video's caption file that is not fetched,
    /// read, cleaned and tokenized within this many seconds is abandoned (a note when captions are optional, a
    /// <c>captions</c> failure when required). Captions load before the video is announced to the encoder, so a slow or
    /// hostile caption file costs one decode worker at most this long and never holds the encoder.
    /// </summary>
    public double TimeoutSeconds { get; init; } = 120;
}

/// <summary>
/// Per-stage parallelism and the bounded channels between stages (DESIGN §2). What a worker holds in memory is bounded
/// by these and by the encoder, never by video length: decoded frames of about decoded_seconds_capacity seconds plus
/// a few per decoding video (the decoder's hand-off), at fps·size²·3 bytes a second (4.5 MB at 30 × 224), plus the
/// encoder's input buffer (seconds_per_batch
/// seconds) and its activations (on the CPU they hardly grow with the batch: the network runs two seconds at a time;
/// encoder.native_mmap_threshold_mib trades some of that memory for speed),
/// plus the runtime, libtorch and the weights. Measured on a 2-core CPU worker (infra/bench/pipeline.sh, batch 8):
/// ~1.0 GB peak resident memory (0.7 GB with encoder.native_mmap_threshold_mib=4), against 1.6–2.0 GB for the
/// reference-style extractor that holds a video's frames.
/// </summary>
public sealed record StagesSection
{
    /// <summary>Videos decoded concurrently (each on its own thread, with decode.threads FFmpeg threads).</summary>
    public int DecodeParallelism { get; init; } = 2;

    /// <summary>
    /// Decoded seconds buffered between decode and encode, shared by the videos in flight (each second is
    /// fps·size²·3 bytes, 4.5 MB at 30 × 224). Lower it to save memory; it only needs to cover the encoder's batch and
    /// the decoders' jitter.
    /// </summary>
    public int DecodedSecondsCapacity { get; init; } = 64;

    /// <summary>Encoded videos buffered before the shard writer.</summary>
    public int EncodedVideosCapacity { get; init; } = 16;

    /// <summary>
    /// Whether the decoders pause while an encoder forward pass runs and decode on every core between passes:
    /// <c>auto</c> (the default: when encoder.device is cpu, where the encoder already keeps every core busy and a
    /// decoder beside it only stalls its statically split layers), <c>on</c> or <c>off</c> (decode and encode overlap,
    /// right when the encoder runs on a GPU).
    /// </summary>
    public CpuTurnsMode CpuTurns { get; init; } = CpuTurnsMode.Auto;

    /// <summary>Whether <see cref="CpuTurns"/> is in effect for an encoder on <paramref name="encoderDevice"/>.</summary>
    public bool TakesCpuTurns(EncoderDevice encoderDevice) => CpuTurns == CpuTurnsMode.On || (CpuTurns == CpuTurnsMode.Auto && encoderDevice == EncoderDevice.Cpu);
}

/// <summary>Where the frozen encoder runs (<c>encoder.device</c>).</summary>
public enum EncoderDevice
{
    /// <summary>The CPU (libtorch's CPU backend).</summary>
    Cpu,

    /// <summary>A CUDA device, <c>encoder.cuda_device</c> (needs a CUDA build of TorchSharp).</summary>
    Cuda,
}

/// <summary>How feature values are stored (<c>encoder.feature_dtype</c>).</summary>
public enum FeatureDtype
{
    /// <summary>Rounded to float16 precision, as the reference stores them (still written as float32).</summary>
    Float16,

    /// <summary>Full float32 precision.</summary>
    Float32,
}

/// <summary>Whether decoders pause during encoder passes (<c>stages.cpu_turns</c>).</summary>
public enum CpuTurnsMode
{
    /// <summary>When the encoder runs on the CPU.</summary>
    Auto,

    /// <summary>Always.</summary>
    On,

    /// <summary>Never: decode and encode overlap.</summary>
    Off,
}

/// <summary>S3 client options (DESIGN §5); real S3 needs none of them.</summary>
public sealed record S3Section
{
    /// <summary>Endpoint URL of an S3-compatible store; null for AWS.</summary>
    public string? EndpointUrl { get; init; }

    /// <summary>Region; null takes the AWS chain's.</summary>
    public string? Region { get; init; }

    /// <summary>Path-style addressing (most S3-compatible stores need it).</summary>
    public bool ForcePathStyle { get; init; }

    /// <summary>aws-chunked upload encoding; some S3-compatible stores store the framing, so they need it off.</summary>
    public bool UseChunkEncoding { get; init; } = true;

    /// <summary><c>when_supported</c> or <c>when_required</c> for request checksums and response validation.</summary>
    public string ChecksumMode { get; init; } = "when_supported";

    /// <summary>Concurrent requests per store (multipart parts, range reads).</summary>
    public int MaxConcurrency { get; init; } = 8;

    /// <summary>Multipart part size in MiB.</summary>
    [JsonPropertyName("part_size_mib")]
    public int PartSizeMiB { get; init; } = 16;
}

/// <summary>Reads, overrides and validates pipeline definitions.</summary>
public static class PipelineDefinitionLoader
{
    /// <summary>The JSON options of the file format: snake_case, comments and trailing commas allowed, unknown keys rejected.</summary>
    public static readonly JsonSerializerOptions JsonOptions = ConfigurationJson.Options;

    /// <summary>
    /// The environment variables that set pipeline fields, in the order they are looked up, and the field each sets.
    /// For the endpoint and the region the first one set wins (<c>VIDEODATA_S3_ENDPOINT</c> before the AWS SDK's
    /// <c>AWS_ENDPOINT_URL_S3</c> and <c>AWS_ENDPOINT_URL</c>; <c>AWS_REGION</c> before <c>AWS_DEFAULT_REGION</c>).
    /// </summary>
    public static IReadOnlyList<(string Variable, string Field)> EnvironmentVariables { get; } =
    [
        ("VIDEODATA_S3_ENDPOINT", "s3.endpoint_url"),
        ("AWS_ENDPOINT_URL_S3", "s3.endpoint_url"),
        ("AWS_ENDPOINT_URL", "s3.endpoint_url"),
        ("AWS_REGION", "s3.region"),
        ("AWS_DEFAULT_REGION", "s3.region"),
        ("VIDEODATA_S3_PATH_STYLE", "s3.force_path_style"),
        ("VIDEODATA_S3_CHUNK_ENCODING", "s3.use_chunk_encoding"),
        ("VIDEODATA_S3_CHECKSUM", "s3.checksum_mode"),
        ("VIDEODATA_S3_MAX_CONCURRENCY", "s3.max_concurrency"),
        ("VIDEODATA_S3_PART_SIZE_MIB", "s3.part_size_mib"),
    ];

    /// <summary>
    /// Loads <paramref name="path"/> (or the defaults when null), applies <paramref name="overrides"/>
    /// (<c>section.field=value</c>, value parsed as JSON when it parses, else taken as a string) and validates.
    /// Relative paths are relative to the working directory, as on the command line. The environment is not read:
    /// see the overload taking <c>getVariable</c> for the command line's layering.
    /// </summary>
    public static PipelineDefinition Load(string? path, IEnumerable<string> overrides) => Load(path, static _ => null, overrides);

    /// <summary>
    /// Loads a definition in the command line's order of precedence, lowest first: the built-in defaults, the file at
    /// <paramref name="path"/>, the environment (<see cref="EnvironmentVariables"/>, read through
    /// <paramref name="getVariable"/>), then <paramref name="overrides"/> (the flags and <c>--set</c>, in order, last
    /// wins). So a flag always beats the environment, and the environment beats the file.
    /// </summary>
    public static PipelineDefinition Load(string? path, Func<string, string?> getVariable, IEnumerable<string> overrides)
    {
        ArgumentNullException.ThrowIfNull(getVariable);
        ArgumentNullException.ThrowIfNull(overrides);
        return LoadLayers(path, EnvironmentOverrides(getVariable).Concat(overrides));
    }

    /// <summary>
    /// The environment's layer as overrides (<c>section.field=value</c>): one per field that some variable of
    /// <see cref="EnvironmentVariables"/> sets. Booleans must be true/false/1/0; the message of a bad value names the variable.
    /// </summary>
    public static IReadOnlyList<string> EnvironmentOverrides(Func<string, string?> getVariable)
    {
        ArgumentNullException.ThrowIfNull(getVariable);
        var result = new List<string>();
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (variable, field) in EnvironmentVariables)
        {
            if (set.Contains(field) || getVariable(variable) is not { Length: > 0 } text)
            {
                continue;
            }

            set.Add(field);
            var value = field switch
            {
                "s3.force_path_style" or "s3.use_chunk_encoding" => text.ToLowerInvariant() switch
                {
                    "true" or "1" => "true",
                    "false" or "0" => "false",
                    _ => throw new PipelineDefinitionException($"Environment variable {variable} = '{text}' is not true or false."),
                },
                "s3.max_concurrency" or "s3.part_size_mib" => int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
                    ? number.ToString(System.Globalization.CultureInfo.InvariantCulture)
                    : throw new PipelineDefinitionException($"Environment variable {variable} = '{text}' is not a positive integer."),
                "s3.checksum_mode" => JsonSerializer.Serialize(text.Replace('-', '_').ToLowerInvariant()),
                _ => JsonSerializer.Serialize(text),
            };
            result.Add($"{field}={value}");
        }

        return result;
    }

    private static PipelineDefinition LoadLayers(string? path, IEnumerable<string> overrides)
    {
        JsonNode root;
        if (path is null)
        {
            root = new JsonObject();
        }
        else
        {
            if (!File.Exists(path))
            {
                throw new PipelineDefinitionException($"Pipeline definition '{path}' does not exist.");
            }

            try
            {
                root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })
                    ?? throw new PipelineDefinitionException($"Pipeline definition '{path}' is empty.");
            }
            catch (JsonException ex)
            {
                throw new PipelineDefinitionException($"Pipeline definition '{path}' is not valid JSON: {ex.Message}", ex);
            }
        }

        foreach (var assignment in overrides)
        {
            Apply(root, assignment);
        }

        PipelineDefinition definition;
        try
        {
            definition = root.Deserialize<PipelineDefinition>(JsonOptions)
                ?? throw new PipelineDefinitionException($"Pipeline definition '{path}' is null.");
        }
        catch (JsonException ex) when (ex.InnerException is UnknownNameException unknown && ConfigurationJson.FieldPath(ex) is { } field)
        {
            throw Invalid(field, unknown.Value, $"must be {SnakeCaseEnumConverter.ListText(unknown.Names)}", ex);
        }
        catch (JsonException ex)
        {
            throw new PipelineDefinitionException($"Pipeline definition '{path ?? "(defaults)"}': {ex.Message}", ex);
        }

        Validate(definition);
        return definition;
    }

    /// <summary>The effective configuration as the file format, for <c>--print-config</c>.</summary>
    public static string ToJson(PipelineDefinition definition) => JsonSerializer.Serialize(definition, JsonOptions);

    /// <summary>Validates every field once; the message names the field (in file syntax) and the bad value.</summary>
    public static void Validate(PipelineDefinition d)
    {
        Require(d.ShardSize > 0, "shard_size", d.ShardSize, "must be positive");
        Require(d.ShardCount is null or > 0, "shard_count", d.ShardCount, "must be positive");
        Require(d.MaxRetries >= 0, "max_retries", d.MaxRetries, "must be zero or positive");
        Require(d.SegmentVideos is >= 1 and <= 4096, "segment_videos", d.SegmentVideos, "must be between 1 and 4096");
        Require(d.SegmentSeconds > 0, "segment_seconds", d.SegmentSeconds, "must be positive");
        Require(d.LeaseStaleSeconds >= 2, "lease_stale_seconds", d.LeaseStaleSeconds, "must be at least 2");
        Require(d.Decode.Fps is > 0 and <= 240, "decode.fps", d.Decode.Fps, "must be in 1..240");
        Require(d.Decode.Size is >= 16 and <= 4096 && d.Decode.Size % 2 == 0, "decode.size", d.Decode.Size, "must be even and in 16..4096");
        Require(d.Decode.Threads is >= 0 and <= 64, "decode.threads", d.Decode.Threads, "must be in 0..64");
        Require(d.Decode.TimeoutSeconds > 0, "decode.timeout_seconds", d.Decode.TimeoutSeconds, "must be positive");
        Require(d.Decode.MaxDurationSeconds > 0, "decode.max_duration_seconds", d.Decode.MaxDurationSeconds, "must be positive");
        Require(d.Decode.MaxDecodeSeconds > 0, "decode.max_decode_seconds", d.Decode.MaxDecodeSeconds, "must be positive");
        Require(d.Decode.MinBytesPerSecond is >= 1 and <= 1_000_000, "decode.min_bytes_per_second", d.Decode.MinBytesPerSecond, "must be in 1..1000000");
        Require(d.Decode.FormatWhitelist is { Count: > 0 } && d.Decode.FormatWhitelist.All(f => !string.IsNullOrWhiteSpace(f) && f.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')),
            "decode.format_whitelist", d.Decode.FormatWhitelist is null ? "null" : string.Join(",", d.Decode.FormatWhitelist), "must be a non-empty list of FFmpeg demuxer names");
        Require(d.Encoder.CudaDevice is >= 0 and <= 63, "encoder.cuda_device", d.Encoder.CudaDevice, "must be in 0..63 (the CUDA device ordinal used when encoder.device is cuda)");
        Require(d.VideosPerRowGroup == 1, "videos_per_row_group", d.VideosPerRowGroup,
            "must be 1: shards are assembled by copying each video's row group from the work segments, so a row group holds one video (other values are not supported)");
        Require(d.Encoder.SecondsPerBatch is > 0 and <= 1024, "encoder.seconds_per_batch", d.Encoder.SecondsPerBatch, "must be in 1..1024");
        Require(d.Encoder.Threads is >= 0 and <= 1024, "encoder.threads", d.Encoder.Threads, "must be in 0..1024");
        Require(d.Encoder.NativeMmapThresholdMiB is >= 0 and <= 32, "encoder.native_mmap_threshold_mib", d.Encoder.NativeMmapThresholdMiB, "must be in 0..32 (glibc's limit)");
        Require(d.Captions.MaxCueCharacters >= 2, "captions.max_cue_characters", d.Captions.MaxCueCharacters, "must be at least 2");
        Require(d.Captions.TimeoutSeconds > 0, "captions.timeout_seconds", d.Captions.TimeoutSeconds, "must be positive");
        Require(d.Stages.DecodeParallelism is > 0 and <= 256, "stages.decode_parallelism", d.Stages.DecodeParallelism, "must be in 1..256");
        Require(d.Stages.DecodedSecondsCapacity > 0, "stages.decoded_seconds_capacity", d.Stages.DecodedSecondsCapacity, "must be positive");
        Require(d.Stages.EncodedVideosCapacity > 0, "stages.encoded_videos_capacity", d.Stages.EncodedVideosCapacity, "must be positive");
        Require(d.S3.ChecksumMode is "when_supported" or "when_required", "s3.checksum_mode", d.S3.ChecksumMode, "must be when_supported or when_required");
        Require(d.S3.MaxConcurrency is > 0 and <= 256, "s3.max_concurrency", d.S3.MaxConcurrency, "must be in 1..256");
        Require(d.S3.PartSizeMiB is >= 5 and <= 5120, "s3.part_size_mib", d.S3.PartSizeMiB, "must be in 5..5120 (S3's limits)");
        Require(!string.IsNullOrWhiteSpace(d.Output), "output", d.Output, "must be set");
    }

    private static void Require(bool condition, string field, object? value, string rule)
    {
        if (!condition)
        {
            throw Invalid(field, value, rule);
        }
    }

    // The one shape of a bad-field message, whether validation or the enum converter found it.
    private static PipelineDefinitionException Invalid(string field, object? value, string rule, Exception? inner = null) =>
        new($"Pipeline field '{field}' = {JsonSerializer.Serialize(value, ConfigurationJson.Options)} is invalid: it {rule}.", inner);

    private static void Apply(JsonNode root, string assignment)
    {
        var equals = assignment.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            throw new PipelineDefinitionException($"Override '{assignment}' is not of the form section.field=value.");
        }

        var keys = assignment[..equals].Trim().Split('.');
        var text = assignment[(equals + 1)..];
        JsonNode? value;
        try
        {
            value = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            value = JsonValue.Create(text);
        }

        var node = root.AsObject();
        foreach (var key in keys[..^1])
        {
            if (node[key] is not JsonObject child)
            {
                child = new JsonObject();
                node[key] = child;
            }

            node = child;
        }

        node[keys[^1]] = value;
    }
}

/// <summary>A pipeline definition or override is invalid; the message names the field and value.</summary>
public sealed class PipelineDefinitionException : VideoData.Core.Failures.UserFacingException
{
    /// <summary>Creates the exception.</summary>
    public PipelineDefinitionException(string message, Exception? innerException = null)
        : base(message, null, innerException)
    {
    }

    /// <summary><c>config</c>.</summary>
    public override string FailureClassName => "config";
}
