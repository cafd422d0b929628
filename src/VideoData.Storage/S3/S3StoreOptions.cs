using Amazon.Runtime;

namespace VideoData.Storage.S3;

/// <summary>When the S3 client computes or validates payload checksums.</summary>
public enum S3ChecksumMode
{
    /// <summary>Only where the operation requires one. Needed for S3-compatible servers (s3rver, some MinIO versions) that reject the newer CRC headers.</summary>
    WhenRequired,

    /// <summary>On every operation that supports one (the AWS SDK's default for AWS S3).</summary>
    WhenSupported,
}

/// <summary>
/// How to reach an S3 (or S3-compatible) service and how hard to try. Set from a pipeline file, command-line
/// flags or the environment (<see cref="ApplyEnvironment"/>); validated once by <see cref="Validate"/> when a
/// store is built. Credentials come from the standard AWS chain (environment, profile, instance role) unless
/// <see cref="Credentials"/> is set; they are never logged and never written to outputs.
/// </summary>
public sealed class S3StoreOptions
{
    /// <summary>The smallest part size S3 accepts for every part but the last (5 MiB).</summary>
    public const long MinPartSize = 5L * 1024 * 1024;

    /// <summary>Endpoint URL of an S3-compatible service (<c>http://127.0.0.1:4568</c>); null for AWS S3 itself.</summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary>AWS region (signing region for S3-compatible services). Default <c>us-east-1</c>.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>Address buckets as <c>host/bucket/key</c> instead of <c>bucket.host/key</c>. Most S3-compatible servers need this. Default false.</summary>
    public bool ForcePathStyle { get; set; }

    /// <summary>
    /// Send signed uploads with <c>aws-chunked</c> content encoding. AWS S3 accepts either; servers that do not
    /// understand it (s3rver) store the chunk framing as part of the object, so turn it off for them. Default true.
    /// </summary>
    public bool UseChunkEncoding { get; set; } = true;

    /// <summary>When to compute request checksums and validate response checksums. Default <see cref="S3ChecksumMode.WhenSupported"/>.</summary>
    public S3ChecksumMode ChecksumMode { get; set; } = S3ChecksumMode.WhenSupported;

    /// <summary>Most requests one store has in flight at once (multipart parts, read-ahead ranges). Default 8, range 1–256.</summary>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>Part size of multipart uploads, in bytes. Default 8 MiB; at least <see cref="MinPartSize"/>.</summary>
    public long PartSize { get; set; } = 8L * 1024 * 1024;

    /// <summary>Objects of at least this many bytes are uploaded in parts; smaller ones with one PUT. Default 16 MiB; at least <see cref="MinPartSize"/>.</summary>
    public long MultipartThreshold { get; set; } = 16L * 1024 * 1024;

    /// <summary>Bytes fetched by one ranged GET of a read stream. Default 4 MiB, range 64 KiB–256 MiB.</summary>
    public int ReadChunkSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Bytes fetched by the first GET after a seek (or at the start): small, so that a seek to read a few boxes
    /// of an MP4 does not pull a whole chunk. Reading on from there switches to <see cref="ReadChunkSize"/>
    /// chunks. Default 256 KiB, range 4 KiB to <see cref="ReadChunkSize"/>.
    /// </summary>
    public int SeekReadSize { get; set; } = 256 * 1024;

    /// <summary>How many chunks a read stream fetches ahead of the reader once it reads sequentially. Default 4, range 0–64.</summary>
    public int ReadAheadChunks { get; set; } = 4;

    /// <summary>Keys per page of a listing (S3 returns at most 1000). Default 1000, range 1–1000.</summary>
    public int ListPageSize { get; set; } = 1000;

    /// <summary>Retries after the first attempt of any request, for transient faults only. Default 8, range 0–100.</summary>
    public int MaxRetryAttempts { get; set; } = 8;

    /// <summary>Base delay of the exponential, jittered backoff between retries. Default 200 ms.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest delay between two retries. Default 20 s.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Longest one attempt of one request may take, body included, before it is abandoned and retried. Default 60 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest one request may take over all its attempts and backoff delays. Default 10 min.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Explicit credentials; null (the default) uses the standard AWS credential chain.</summary>
    public AWSCredentials? Credentials { get; set; }

    /// <summary>
    /// Reads settings from environment variables, overriding what is set: <c>VIDEODATA_S3_ENDPOINT</c> (else
    /// <c>AWS_ENDPOINT_URL_S3</c>, else <c>AWS_ENDPOINT_URL</c>), <c>AWS_REGION</c> (else <c>AWS_DEFAULT_REGION</c>),
    /// <c>VIDEODATA_S3_PATH_STYLE</c>, <c>VIDEODATA_S3_CHUNK_ENCODING</c> (true/false) and
    /// <c>VIDEODATA_S3_CHECKSUM</c> (when_required/when_supported). Returns this instance.
    /// </summary>
    public S3StoreOptions ApplyEnvironment(Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        var endpoint = First(getVariable, "VIDEODATA_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
        if (endpoint is not null)
        {
            ServiceUrl = Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
                ? uri
                : throw new ArgumentException($"S3 endpoint '{endpoint}' from the environment is not an absolute URL.");
        }

        Region = First(getVariable, "AWS_REGION", "AWS_DEFAULT_REGION") ?? Region;
        ForcePathStyle = Bool(getVariable, "VIDEODATA_S3_PATH_STYLE") ?? ForcePathStyle;
        UseChunkEncoding = Bool(getVariable, "VIDEODATA_S3_CHUNK_ENCODING") ?? UseChunkEncoding;
        if (getVariable("VIDEODATA_S3_CHECKSUM") is { Length: > 0 } checksum)
        {
            ChecksumMode = ParseChecksumMode(checksum);
        }

        return this;
    }

    /// <summary>Parses <c>when_required</c> / <c>when_supported</c> (case-insensitive, '-' or '_').</summary>
    public static S3ChecksumMode ParseChecksumMode(string value) =>
        value.Replace('-', '_').ToLowerInvariant() switch
        {
            "when_required" => S3ChecksumMode.WhenRequired,
            "when_supported" => S3ChecksumMode.WhenSupported,
            _ => throw new ArgumentException($"S3 checksum mode '{value}' is not when_required or when_supported."),
        };

    /// <summary>Settings for a local S3-compatible test server (s3rver, MinIO): path-style, no chunk encoding, checksums only when required.</summary>
    public static S3StoreOptions ForCompatibleServer(Uri serviceUrl) => new()
    {
        ServiceUrl = serviceUrl,
        ForcePathStyle = true,
        UseChunkEncoding = false,
        ChecksumMode = S3ChecksumMode.WhenRequired,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option and its value.</summary>
    public void Validate()
    {
        Check(ServiceUrl is null || (ServiceUrl.IsAbsoluteUri && ServiceUrl.Scheme is "http" or "https"), nameof(ServiceUrl), ServiceUrl, "an absolute http(s) URL");
        Check(!string.IsNullOrWhiteSpace(Region), nameof(Region), Region, "a region name");
        Check(MaxConcurrency is >= 1 and <= 256, nameof(MaxConcurrency), MaxConcurrency, "1 to 256");
        Check(PartSize is >= MinPartSize and <= 5L * 1024 * 1024 * 1024, nameof(PartSize), PartSize, "5 MiB to 5 GiB");
        Check(MultipartThreshold >= MinPartSize, nameof(MultipartThreshold), MultipartThreshold, "at least 5 MiB");
        Check(ReadChunkSize is >= 64 * 1024 and <= 256 * 1024 * 1024, nameof(ReadChunkSize), ReadChunkSize, "64 KiB to 256 MiB");
        Check(SeekReadSize >= 4 * 1024 && SeekReadSize <= ReadChunkSize, nameof(SeekReadSize), SeekReadSize, "4 KiB to ReadChunkSize");
        Check(ReadAheadChunks is >= 0 and <= 64, nameof(ReadAheadChunks), ReadAheadChunks, "0 to 64");
        Check(ListPageSize is >= 1 and <= 1000, nameof(ListPageSize), ListPageSize, "1 to 1000");
        Check(MaxRetryAttempts is >= 0 and <= 100, nameof(MaxRetryAttempts), MaxRetryAttempts, "0 to 100");
        Check(RetryBaseDelay >= TimeSpan.Zero, nameof(RetryBaseDelay), RetryBaseDelay, "not negative");
        Check(RetryMaxDelay >= RetryBaseDelay, nameof(RetryMaxDelay), RetryMaxDelay, "at least RetryBaseDelay");
        Check(AttemptTimeout > TimeSpan.Zero && AttemptTimeout <= TimeSpan.FromHours(24), nameof(AttemptTimeout), AttemptTimeout, "positive, at most 24 h");
        Check(TotalTimeout >= AttemptTimeout && TotalTimeout <= TimeSpan.FromHours(24), nameof(TotalTimeout), TotalTimeout, "at least AttemptTimeout, at most 24 h");
    }

    /// <summary>Describes the options without credentials, for logs.</summary>
    public override string ToString() =>
        $"endpoint={ServiceUrl?.ToString() ?? "aws"} region={Region} path-style={ForcePathStyle} chunk-encoding={UseChunkEncoding} " +
        $"checksum={ChecksumMode} concurrency={MaxConcurrency} part-size={PartSize} multipart-threshold={MultipartThreshold} retries={MaxRetryAttempts}";

    internal S3StoreOptions Clone() => (S3StoreOptions)MemberwiseClone();

    private static void Check(bool ok, string name, object? value, string expected)
    {
        if (!ok)
        {
            throw new ArgumentException($"S3 option {name} = '{value}' is invalid: expected {expected}.", name);
        }
    }

    private static string? First(Func<string, string?> getVariable, params string[] names)
    {
        foreach (var name in names)
        {
            if (getVariable(name) is { Length: > 0 } value)
            {
                return value;
            }
        }

        return null;
    }

    private static bool? Bool(Func<string, string?> getVariable, string name) => getVariable(name) switch
    {
        null or "" => null,
        var v when v.Equals("true", StringComparison.OrdinalIgnoreCase) || v == "1" => true,
        var v when v.Equals("false", StringComparison.OrdinalIgnoreCase) || v == "0" => false,
        var v => throw new ArgumentException($"Environment variable {name} = '{v}' is not true or false."),
    };
}
