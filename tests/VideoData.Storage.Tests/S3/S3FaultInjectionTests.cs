using System.Security.Cryptography;
using Amazon.Runtime;
using VideoData.Core.Failures;
using VideoData.Storage.Blobs;
using VideoData.Storage.S3;
using VideoData.Testing.S3;

namespace VideoData.Storage.Tests.S3;

/// <summary>The S3 store through a proxy that injects 500s, 503 SlowDown, resets mid-body and stalls.</summary>
[Collection(S3ServerCollection.Name)]
public sealed class S3FaultInjectionTests(S3ServerFixture server)
{
    private const int MiB = 1024 * 1024;

    private static S3StoreOptions Options(FaultInjectingProxy proxy, int maxRetries = 10)
    {
        var options = S3BlobStoreTests.OptionsFor(proxy.Endpoint);
        options.MaxRetryAttempts = maxRetries;
        options.AttemptTimeout = TimeSpan.FromSeconds(3);
        options.TotalTimeout = TimeSpan.FromMinutes(2);
        options.MaxConcurrency = 8;
        return options;
    }

    [Fact]
    public async Task WriteAndRead_200ObjectsWith10PercentFaults_LoseNothingAndCountRetries()
    {
        var bucket = await server.CreateBucketAsync("faults");
        await using var proxy = FaultInjectingProxy.Start(server.Endpoint, new FaultProxyOptions { FaultRate = 0.10, Seed = 42, StallDuration = TimeSpan.FromSeconds(20) });
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = Options(proxy) });
        var store = resolver.Resolve($"s3://{bucket}/").Store;

        // Mostly small objects (one PUT, one ranged GET), a few multipart ones and a few read with read-ahead.
        var random = new Random(7);
        var objects = Enumerable.Range(0, 200).Select(i =>
        {
            var size = i % 50 == 0 ? (6 * MiB) + random.Next(1000) : i % 10 == 0 ? 700_000 + random.Next(100_000) : random.Next(0, 64 * 1024);
            var data = new byte[size];
            random.NextBytes(data);
            return (Key: $"objects/{i:D3}.bin", Data: data);
        }).ToArray();

        await Parallel.ForEachAsync(objects, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (o, ct) =>
            await store.WriteAsync(o.Key, new MemoryStream(o.Data), ct));

        var mismatches = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(objects, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (o, ct) =>
        {
            await using var stream = await store.OpenReadAsync(o.Key, ct);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, ct);
            if (!SHA256.HashData(copy.ToArray()).AsSpan().SequenceEqual(SHA256.HashData(o.Data)))
            {
                mismatches.Add($"{o.Key}: {copy.Length} bytes read, {o.Data.Length} written");
            }
        });

        var listed = 0;
        await foreach (var _ in store.ListAsync("objects/"))
        {
            listed++;
        }

        Assert.Empty(mismatches);
        Assert.Equal(200, listed);

        var injected = proxy.Injected;
        var counters = resolver.Counters;
        Assert.All(new[] { ProxyFault.InternalError, ProxyFault.SlowDown, ProxyFault.ResetMidBody, ProxyFault.Stall },
            fault => Assert.True(injected.GetValueOrDefault(fault) > 0, $"no {fault} was injected: {string.Join(", ", injected)}"));
        Assert.True(counters.Retries >= proxy.InjectedTotal, $"retries {counters.Retries} < injected faults {proxy.InjectedTotal} ({string.Join(", ", injected)}); requests seen {proxy.Requests.Count}, sent {counters.Requests}");

        // A SlowDown that reaches an attempt the client already abandoned (its timeout fired first on a loaded
        // machine) is not seen as a throttle, so the count may be lower than the injected one, never zero.
        Assert.InRange(counters.Throttles, 1, injected[ProxyFault.SlowDown] + counters.Retries);

        // Every request the server side saw was counted (the SDK's own retries are off); a cancelled attempt may be counted without reaching it.
        Assert.InRange(proxy.Requests.Count, 1, counters.Requests);
    }

    [Fact]
    public async Task OpenReadAsync_ConnectionResetMidBody_ResumesWithoutRefetching()
    {
        var bucket = await server.CreateBucketAsync("resume");
        await using var proxy = FaultInjectingProxy.Start(server.Endpoint, new FaultProxyOptions { FaultRate = 0, Seed = 3, Faults = [ProxyFault.ResetMidBody] });
        var options = Options(proxy);
        options.ReadChunkSize = MiB;
        options.ReadAheadChunks = 0;
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = options });
        var store = resolver.Resolve($"s3://{bucket}/").Store;
        var data = RandomNumberGenerator.GetBytes(4 * MiB);
        await store.WriteAsync("video.mp4", new MemoryStream(data));

        proxy.FaultRate = 0.5;
        var before = resolver.Counters;
        await using var stream = await store.OpenReadAsync("video.mp4");
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        var after = resolver.Counters;

        Assert.Equal(data, copy.ToArray());
        Assert.True(proxy.Injected.GetValueOrDefault(ProxyFault.ResetMidBody) > 0);
        Assert.True(after.Retries > before.Retries);

        // A retry asks only for the bytes not yet received, so exactly the object's bytes were read.
        Assert.Equal(data.Length, after.BytesRead - before.BytesRead);
    }

    [Fact]
    public async Task StatAsync_RetriesExhausted_FailsAfterLimitNamingTheObject()
    {
        var bucket = await server.CreateBucketAsync("exhaust");
        await using var proxy = FaultInjectingProxy.Start(server.Endpoint, new FaultProxyOptions { FaultRate = 1.0, Faults = [ProxyFault.InternalError] });
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = Options(proxy, maxRetries: 2) });
        var store = resolver.Resolve($"s3://{bucket}/").Store;

        var error = await Assert.ThrowsAsync<BlobStoreException>(() => store.StatAsync("a/b.mp4"));
        Assert.Contains($"s3://{bucket}/a/b.mp4", error.Message, StringComparison.Ordinal);
        Assert.Contains("500", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, resolver.Counters.Requests);
        Assert.Equal(2, resolver.Counters.Retries);

        var fetch = await Assert.ThrowsAsync<VideoDataException>(() => store.OpenReadAsync("a/b.mp4"));
        Assert.Equal(FailureClass.Fetch, fetch.FailureClass);
    }

    [Fact]
    public async Task Requests_PermanentErrors_AreNotRetried()
    {
        var bucket = await server.CreateBucketAsync("permanent");
        await using var proxy = FaultInjectingProxy.Start(server.Endpoint);
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = Options(proxy) });
        var store = resolver.Resolve($"s3://{bucket}/").Store;

        Assert.Null(await store.StatAsync("missing.mp4"));
        await Assert.ThrowsAsync<VideoDataException>(() => store.OpenReadAsync("missing.mp4"));
        Assert.Equal(2, resolver.Counters.Requests);
        Assert.Equal(0, resolver.Counters.Retries);

        var badCredentials = Options(proxy);
        badCredentials.Credentials = new BasicAWSCredentials("WRONGKEY", "WRONGSECRET");
        using var denied = new BlobStoreResolver(new BlobStoreOptions { S3 = badCredentials });
        var deniedStore = denied.Resolve($"s3://{bucket}/").Store;
        var error = await Assert.ThrowsAsync<BlobStoreException>(async () =>
        {
            await foreach (var _ in deniedStore.ListAsync(""))
            {
            }
        });
        Assert.Contains("403", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("WRONGSECRET", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, denied.Counters.Requests);
        Assert.Equal(0, denied.Counters.Retries);
    }

    [Fact]
    public async Task WriteAsync_MultipartSourceFails_AbortsTheUpload()
    {
        var bucket = await server.CreateBucketAsync("abort");
        await using var proxy = FaultInjectingProxy.Start(server.Endpoint);
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = Options(proxy) });
        var store = resolver.Resolve($"s3://{bucket}/").Store;

        var source = new byte[13 * MiB];
        await Assert.ThrowsAnyAsync<IOException>(() => store.WriteAsync("partial.bin", new ThrowingAfter(source, 12 * MiB)));

        var requests = proxy.Requests;
        Assert.Contains(requests, r => r.StartsWith("POST ", StringComparison.Ordinal) && r.Contains("uploads", StringComparison.Ordinal));
        // Whether the first part's PUT went out before the source failed depends on timing (it may be cancelled
        // first); what must hold either way is that the upload was aborted and never completed.
        Assert.Contains(requests, r => r.StartsWith("DELETE ", StringComparison.Ordinal) && r.Contains("uploadId=", StringComparison.Ordinal));
        Assert.DoesNotContain(requests, r => r.StartsWith("POST ", StringComparison.Ordinal) && r.Contains("uploadId=", StringComparison.Ordinal));
        Assert.Null(await store.StatAsync("partial.bin"));
    }

    private sealed class ThrowingAfter(byte[] data, int failAt) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= failAt)
            {
                throw new IOException("source failed on purpose");
            }

            var n = Math.Min(count, failAt - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
