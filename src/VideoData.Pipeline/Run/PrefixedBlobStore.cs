using System.Runtime.CompilerServices;
using VideoData.Storage.Blobs;

namespace VideoData.Pipeline.Run;

/// <summary>A view of a store under a key prefix, so the pipeline writes <c>shards/…</c> and <c>ledger/…</c> relative to its output location.</summary>
internal sealed class PrefixedBlobStore : IBlobStore
{
    private readonly IBlobStore _inner;
    private readonly string _prefix;

    public PrefixedBlobStore(IBlobStore inner, string prefix)
    {
        _inner = inner;
        _prefix = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
    }

    public string RootUri => _prefix.Length == 0 ? _inner.RootUri : _inner.UriOf(_prefix.TrimEnd('/')) + "/";

    public StorageCountersSnapshot Counters => _inner.Counters;

    public string UriOf(string key) => _inner.UriOf(_prefix + key);

    public Task<BlobInfo?> StatAsync(string key, CancellationToken cancellationToken = default) => _inner.StatAsync(_prefix + key, cancellationToken);

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => _inner.ExistsAsync(_prefix + key, cancellationToken);

    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) => _inner.OpenReadAsync(_prefix + key, cancellationToken);

    public async IAsyncEnumerable<BlobInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var blob in _inner.ListAsync(_prefix + prefix, cancellationToken).ConfigureAwait(false))
        {
            yield return blob with { Key = blob.Key[_prefix.Length..] };
        }
    }

    public Task WriteAsync(string key, Stream content, CancellationToken cancellationToken = default) => _inner.WriteAsync(_prefix + key, content, cancellationToken);

    public Task WriteFileAsync(string key, string localPath, CancellationToken cancellationToken = default) => _inner.WriteFileAsync(_prefix + key, localPath, cancellationToken);

    public Task WriteWithAsync(string key, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken = default) => _inner.WriteWithAsync(_prefix + key, write, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => _inner.DeleteAsync(_prefix + key, cancellationToken);

    public Task<string?> TryCreateAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default) => _inner.TryCreateAsync(_prefix + key, content, cancellationToken);

    public Task<VersionedBlob?> ReadVersionedAsync(string key, CancellationToken cancellationToken = default) => _inner.ReadVersionedAsync(_prefix + key, cancellationToken);

    public Task<string?> TryReplaceAsync(string key, ReadOnlyMemory<byte> content, string expectedVersion, CancellationToken cancellationToken = default) =>
        _inner.TryReplaceAsync(_prefix + key, content, expectedVersion, cancellationToken);

    public Task<bool> TryDeleteAsync(string key, string expectedVersion, CancellationToken cancellationToken = default) => _inner.TryDeleteAsync(_prefix + key, expectedVersion, cancellationToken);
}
