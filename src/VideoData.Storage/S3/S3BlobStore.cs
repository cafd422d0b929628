using System.Buffers;
using System.Runtime.CompilerServices;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Polly;
using VideoData.Core.Failures;
using VideoData.Storage.Blobs;

namespace VideoData.Storage.S3;

/// <summary>
/// One S3 bucket as a blob store. Every request runs through <see cref="S3Resilience"/>; uploads below
/// <see cref="S3StoreOptions.MultipartThreshold"/> are one PUT, larger ones a multipart upload whose parts
/// go up in parallel (bounded) and which is aborted on failure, so S3 never shows a partial object.
/// </summary>
internal sealed class S3BlobStore : IBlobStore, IDisposable
{
    /// <summary>S3's limit on the parts of one multipart upload.</summary>
    private const int MaxParts = 10_000;

    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly string _bucket;
    private readonly S3StoreOptions _options;
    private readonly StorageCounters _counters;
    private readonly ResiliencePipeline _pipeline;
    private readonly SemaphoreSlim _requestSlots;

    public S3BlobStore(string bucket, S3StoreOptions options, StorageCounters counters, IAmazonS3? client = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (BlobLocation.BucketProblem(bucket) is { } problem)
        {
            throw new ArgumentException($"Invalid S3 bucket name '{bucket}': {problem}.", nameof(bucket));
        }

        options.Validate();
        _options = options.Clone();
        _bucket = bucket;
        _counters = counters;
        _client = client ?? CreateClient(_options);
        _ownsClient = client is null;
        _pipeline = S3Resilience.Build(_options, counters);
        _requestSlots = new SemaphoreSlim(_options.MaxConcurrency, _options.MaxConcurrency);
    }

    public string RootUri => $"s3://{_bucket}/";

    public StorageCountersSnapshot Counters => _counters.Snapshot();

    internal S3StoreOptions Options => _options;

    public string UriOf(string key) => $"s3://{_bucket}/{key}";

    /// <summary>Builds the SDK client for the options: SDK retries off (Polly owns them), checksum mode and addressing as configured.</summary>
    internal static AmazonS3Client CreateClient(S3StoreOptions options)
    {
        var checksumRequired = options.ChecksumMode == S3ChecksumMode.WhenRequired;
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            RequestChecksumCalculation = checksumRequired ? RequestChecksumCalculation.WHEN_REQUIRED : RequestChecksumCalculation.WHEN_SUPPORTED,
            ResponseChecksumValidation = checksumRequired ? ResponseChecksumValidation.WHEN_REQUIRED : ResponseChecksumValidation.WHEN_SUPPORTED,
            MaxErrorRetry = 0,
            MaxStaleConnectionRetries = 0,
            Timeout = options.AttemptTimeout + TimeSpan.FromSeconds(5),
            MaxConnectionsPerServer = (options.MaxConcurrency * 2) + 4,
        };
        if (options.ServiceUrl is { } url)
        {
            config.ServiceURL = url.ToString();
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        return options.Credentials is { } credentials ? new AmazonS3Client(credentials, config) : new AmazonS3Client(config);
    }

    public async Task<BlobInfo?> StatAsync(string key, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        try
        {
            return await RunAsync(async ct =>
            {
                var response = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = key }, ct).ConfigureAwait(false);
                return new BlobInfo(key, response.ContentLength, ToUtc(response.LastModified));
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (S3Resilience.IsNotFound(ex))
        {
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Failed("stat", key, ex);
        }
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) =>
        await StatAsync(key, cancellationToken).ConfigureAwait(false) is not null;

    public async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        try
        {
            (long length, string? etag) = await RunAsync(async ct =>
            {
                var response = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = key }, ct).ConfigureAwait(false);
                return (response.ContentLength, (string?)response.ETag);
            }, cancellationToken).ConfigureAwait(false);
            return new S3ReadStream(this, key, length, etag);
        }
        catch (Exception ex) when (S3Resilience.IsNotFound(ex))
        {
            throw new VideoDataException(FailureClass.Fetch, $"{UriOf(key)}: object not found.", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not VideoDataException)
        {
            throw new VideoDataException(FailureClass.Fetch, $"{UriOf(key)}: {Describe(ex)}", ex);
        }
    }

    /// <summary>
    /// Fetches bytes [<paramref name="start"/>, start + count) into <paramref name="destination"/>. A broken
    /// or stalled body is retried from the first byte not yet received, so a retry never refetches what
    /// arrived. Every response must carry the ETag the stream was opened with: a replaced object fails
    /// instead of stitching two versions together.
    /// </summary>
    internal async Task FetchRangeAsync(string key, string? etag, long start, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var received = 0;
        await _requestSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RunAsync(async ct =>
            {
                var request = new GetObjectRequest
                {
                    BucketName = _bucket,
                    Key = key,
                    ByteRange = new ByteRange(start + received, start + destination.Length - 1),
                    EtagToMatch = etag,
                };
                using var response = await _client.GetObjectAsync(request, ct).ConfigureAwait(false);
                if (etag is not null && response.ETag is { } actual && actual != etag)
                {
                    throw new ObjectChangedException($"{UriOf(key)} changed while being read (ETag {etag} became {actual}).");
                }

                var body = response.ResponseStream;
                while (received < destination.Length)
                {
                    var read = await body.ReadAsync(destination[received..], ct).ConfigureAwait(false);
                    if (read == 0)
                    {
                        throw new IOException($"{UriOf(key)}: the response ended after {received} of {destination.Length} bytes.");
                    }

                    received += read;
                    _counters.Read(read);
                }

                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonServiceException ex) when (ex.StatusCode == System.Net.HttpStatusCode.PreconditionFailed)
        {
            throw new VideoDataException(FailureClass.Fetch, $"{UriOf(key)} changed while being read.", ex);
        }
        catch (ObjectChangedException ex)
        {
            throw new VideoDataException(FailureClass.Fetch, ex.Message, ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not VideoDataException)
        {
            throw new VideoDataException(FailureClass.Fetch, $"{UriOf(key)}: reading bytes {start}-{start + destination.Length - 1}: {Describe(ex)}", ex);
        }
        finally
        {
            _requestSlots.Release();
        }
    }

    public async IAsyncEnumerable<BlobInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        BlobKeys.ValidatePrefix(prefix);
        // Pages continue from the last key seen (StartAfter) rather than an opaque continuation token:
        // the same on AWS, and S3-compatible servers whose token scheme is broken (s3rver on OpenSSL 3) still page.
        string? startAfter = null;
        do
        {
            ListObjectsV2Response page;
            try
            {
                page = await RunAsync(ct => _client.ListObjectsV2Async(
                    new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix, MaxKeys = _options.ListPageSize, StartAfter = startAfter }, ct),
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw Failed("list", prefix, ex);
            }

            var objects = page.S3Objects ?? [];
            foreach (var item in objects)
            {
                yield return new BlobInfo(item.Key, item.Size ?? 0, ToUtc(item.LastModified));
            }

            startAfter = page.IsTruncated == true && objects.Count > 0 ? objects[^1].Key : null;
        }
        while (startAfter is not null);
    }

    public async Task WriteAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(content);

        // Buffer up to the threshold: a source that ends before it goes up in one PUT (retryable from the
        // buffer); one that does not becomes a multipart upload starting with these bytes.
        var threshold = (int)Math.Min(_options.MultipartThreshold, Array.MaxLength);
        var head = ArrayPool<byte>.Shared.Rent((int)Math.Min(threshold, 1 << 20));
        var filled = 0;
        try
        {
            while (filled < threshold)
            {
                if (filled == head.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)head.Length * 2, threshold));
                    head.AsSpan(0, filled).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(head);
                    head = bigger;
                }

                var read = await content.ReadAsync(head.AsMemory(filled, Math.Min(head.Length, threshold) - filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    await PutAsync(key, head.AsMemory(0, filled), cancellationToken).ConfigureAwait(false);
                    return;
                }

                filled += read;
            }

            await MultipartAsync(key, head.AsMemory(0, filled), content, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
        }
    }

    public async Task WriteFileAsync(string key, string localPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(localPath);
        var source = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (source.ConfigureAwait(false))
        {
            await WriteAsync(key, source, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        try
        {
            await RunAsync(ct => _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = key }, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (S3Resilience.IsNotFound(ex))
        {
            // Deleting a missing object is not an error (S3 itself answers 204).
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Failed("delete", key, ex);
        }
    }

    // Conditional writes as AWS S3 defines them (2024): PUT with If-None-Match: * creates only a missing key, PUT and DELETE with
    // If-Match: ETag act only on that version; both answer 412 Precondition Failed otherwise (409 ConditionalRequestConflict
    // when two conditional requests race; AWS says to retry, and a retry then sees the winner's object). s3rver 3.7.1
    // ignores both headers (it overwrites), so tests exercise this protocol through a proxy that enforces them.
    public async Task<string?> TryCreateAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        try
        {
            return await ConditionalPutAsync(key, content, request => request.IfNoneMatch = "*", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConditionFailed(ex))
        {
            // Ours already, when an earlier attempt's response was lost and the retry found the object it had made.
            return await ReadVersionedAsync(key, cancellationToken).ConfigureAwait(false) is { } existing && existing.Content.AsSpan().SequenceEqual(content.Span)
                ? existing.Version
                : null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Failed("create", key, ex);
        }
    }

    public async Task<VersionedBlob?> ReadVersionedAsync(string key, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        try
        {
            return await RunAsync(async ct =>
            {
                using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = key }, ct).ConfigureAwait(false);
                using var buffer = new MemoryStream();
                await response.ResponseStream.CopyToAsync(buffer, ct).ConfigureAwait(false);
                return new VersionedBlob(buffer.ToArray(), response.ETag);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (S3Resilience.IsNotFound(ex))
        {
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Failed("read", key, ex);
        }
    }

    public async Task<string?> TryReplaceAsync(string key, ReadOnlyMemory<byte> content, string expectedVersion, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        ArgumentException.ThrowIfNullOrEmpty(expectedVersion);
        try
        {
            return await ConditionalPutAsync(key, content, request => request.IfMatch = expectedVersion, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConditionFailed(ex) || S3Resilience.IsNotFound(ex))
        {
            return await ReadVersionedAsync(key, cancellationToken).ConfigureAwait(false) is { } existing && existing.Content.AsSpan().SequenceEqual(content.Span)
                ? existing.Version
                : null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Failed("replace", key, ex);
        }
    }

    public async Task<bool> TryDeleteAsync(string key, string expectedVersion, CancellationToken cancellationToken = default)
    {
        BlobKeys.Validate(key);
        ArgumentException.ThrowIfNullOrEmpty(expectedVersion);
        try
        {
            await RunAsync(ct => _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = key, IfMatch = expectedVersion }, ct), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (IsConditionFailed(ex) || S3Resilience.IsNotFound(ex))
        {
            return false;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Failed("delete", key, ex);
        }
    }

    private async Task<string> ConditionalPutAsync(string key, ReadOnlyMemory<byte> content, Action<PutObjectRequest> condition, CancellationToken cancellationToken)
    {
        await _requestSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await RunAsync(async ct =>
            {
                using var input = AsStream(content);
                var request = new PutObjectRequest { BucketName = _bucket, Key = key, InputStream = input, AutoCloseStream = false, UseChunkEncoding = _options.UseChunkEncoding };
                condition(request);
                _counters.Written(content.Length);
                var response = await _client.PutObjectAsync(request, ct).ConfigureAwait(false);
                return response.ETag;
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _requestSlots.Release();
        }
    }

    private static bool IsConditionFailed(Exception ex) =>
        ex is AmazonServiceException { StatusCode: System.Net.HttpStatusCode.PreconditionFailed or System.Net.HttpStatusCode.Conflict };

    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }

        _requestSlots.Dispose();
    }

    private async Task PutAsync(string key, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        await _requestSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RunAsync(async ct =>
            {
                using var input = AsStream(body);
                var request = new PutObjectRequest
                {
                    BucketName = _bucket,
                    Key = key,
                    InputStream = input,
                    AutoCloseStream = false,
                    UseChunkEncoding = _options.UseChunkEncoding,
                };
                _counters.Written(body.Length);
                return await _client.PutObjectAsync(request, ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Failed("write", key, ex);
        }
        finally
        {
            _requestSlots.Release();
        }
    }

    private async Task MultipartAsync(string key, ReadOnlyMemory<byte> head, Stream rest, CancellationToken cancellationToken)
    {
        // Server clocks and ours may differ a little; the window only has to exclude older objects of the same size.
        var started = DateTimeOffset.UtcNow - TimeSpan.FromMinutes(5);
        string uploadId;
        try
        {
            uploadId = await RunAsync(async ct =>
                (await _client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _bucket, Key = key }, ct).ConfigureAwait(false)).UploadId,
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Failed("start a multipart upload of", key, ex);
        }

        try
        {
            var (parts, total) = await UploadPartsAsync(key, uploadId, head, rest, cancellationToken).ConfigureAwait(false);
            var attempts = 0;
            await RunAsync(async ct =>
            {
                // A completion whose answer was lost may have succeeded; completing again would then fail
                // (the upload is gone), so a retry first looks whether the object is already there.
                if (attempts++ > 0 && await IsPublishedAsync(key, total, started, ct).ConfigureAwait(false))
                {
                    return true;
                }

                await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
                {
                    BucketName = _bucket,
                    Key = key,
                    UploadId = uploadId,
                    PartETags = parts,
                }, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Never leave parts behind (they are billed and invisible); the abort must run even when the
            // caller cancelled, so it gets its own token.
            try
            {
                using var abortTimeout = new CancellationTokenSource(_options.TotalTimeout);
                await RunAsync(ct => _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _bucket, Key = key, UploadId = uploadId }, ct),
                    abortTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception abortError) when (abortError is not OperationCanceledException)
            {
                throw new BlobStoreException(UriOf(key), $"{UriOf(key)}: multipart upload {uploadId} failed ({Describe(ex)}) and could not be aborted ({Describe(abortError)}).",
                    new AggregateException(ex, abortError));
            }

            if (ex is OperationCanceledException or BlobStoreException)
            {
                throw;
            }

            throw Failed("write", key, ex);
        }
    }

    private async Task<bool> IsPublishedAsync(string key, long length, DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        _counters.Request();
        try
        {
            var response = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            return response.ContentLength == length && ToUtc(response.LastModified) >= notBefore;
        }
        catch (AmazonServiceException ex) when (S3Resilience.IsNotFound(ex))
        {
            return false;
        }
    }

    private async Task<(List<PartETag> Parts, long Total)> UploadPartsAsync(string key, string uploadId, ReadOnlyMemory<byte> head, Stream rest, CancellationToken cancellationToken)
    {
        var partSize = (int)Math.Min(_options.PartSize, Array.MaxLength);
        var parts = new List<PartETag>();
        var inFlight = new List<Task<PartETag>>();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var headOffset = 0;
        var partNumber = 0;
        long total = 0;
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(partSize);
                var filled = 0;
                var taken = Math.Min(head.Length - headOffset, partSize);
                head.Slice(headOffset, taken).CopyTo(buffer);
                headOffset += taken;
                filled = taken;
                while (filled < partSize)
                {
                    var read = await rest.ReadAsync(buffer.AsMemory(filled, partSize - filled), failed.Token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    filled += read;
                }

                if (filled == 0 && partNumber > 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }

                partNumber++;
                if (partNumber > MaxParts)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    throw new BlobStoreException(UriOf(key), $"{UriOf(key)}: the object is larger than {MaxParts} parts of {partSize} bytes; raise the S3 option PartSize.");
                }

                total += filled;
                inFlight.Add(UploadPartAsync(key, uploadId, partNumber, buffer, filled, failed.Token));
                if (filled < partSize)
                {
                    break;
                }

                // Bound memory and requests: at most MaxConcurrency parts read ahead of the slowest upload.
                if (inFlight.Count >= _options.MaxConcurrency)
                {
                    var done = await Task.WhenAny(inFlight).ConfigureAwait(false);
                    inFlight.Remove(done);
                    parts.Add(await done.ConfigureAwait(false));
                }
            }

            foreach (var part in inFlight)
            {
                parts.Add(await part.ConfigureAwait(false));
            }
        }
        catch
        {
            await failed.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(inFlight).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The first failure is the one reported; the others are its consequences (cancellation).
            }

            throw;
        }

        parts.Sort((a, b) => (a.PartNumber ?? 0).CompareTo(b.PartNumber ?? 0));
        return (parts, total);
    }

    private async Task<PartETag> UploadPartAsync(string key, string uploadId, int partNumber, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        await _requestSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await RunAsync(async ct =>
            {
                using var input = AsStream(buffer.AsMemory(0, length));
                _counters.Written(length);
                return await _client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _bucket,
                    Key = key,
                    UploadId = uploadId,
                    PartNumber = partNumber,
                    InputStream = input,
                    PartSize = length,
                    UseChunkEncoding = _options.UseChunkEncoding,
                }, ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            return new PartETag(partNumber, response.ETag);
        }
        finally
        {
            _requestSlots.Release();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private ValueTask<T> RunAsync<T>(Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken) =>
        _pipeline.ExecuteAsync(async ct =>
        {
            _counters.Request();
            return await action(ct).ConfigureAwait(false);
        }, cancellationToken);

    private static MemoryStream AsStream(ReadOnlyMemory<byte> body) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(body, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(body.ToArray(), writable: false);

    private BlobStoreException Failed(string operation, string key, Exception ex) =>
        new(UriOf(key), $"Could not {operation} {UriOf(key)}: {Describe(ex)}", ex);

    internal static string Describe(Exception ex) => ex switch
    {
        AmazonServiceException service when service.StatusCode != 0 =>
            $"HTTP {(int)service.StatusCode} {service.ErrorCode ?? service.StatusCode.ToString()}{(service.Message is { Length: > 0 } m ? ": " + m : "")}",
        Polly.Timeout.TimeoutRejectedException => "timed out",
        _ when ex.InnerException is { } inner && ex is AmazonClientException or AmazonServiceException => $"{ex.Message} ({Describe(inner)})",
        _ => ex.Message,
    };

    private static DateTimeOffset ToUtc(DateTime? time) =>
        time is { } t ? new DateTimeOffset(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t.ToUniversalTime()) : DateTimeOffset.UnixEpoch;

    private sealed class ObjectChangedException(string message) : Exception(message);
}
