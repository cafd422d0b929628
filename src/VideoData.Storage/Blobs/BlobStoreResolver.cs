using System.Collections.Concurrent;
using VideoData.Storage.Local;
using VideoData.Storage.S3;

namespace VideoData.Storage.Blobs;

/// <summary>Options of a <see cref="BlobStoreResolver"/>.</summary>
public sealed class BlobStoreOptions
{
    /// <summary>The folder plain (scheme-less, relative) paths are resolved against. Default: the current directory.</summary>
    public string? LocalRoot { get; set; }

    /// <summary>How S3 locations are reached. Default: AWS S3 with the standard credential chain.</summary>
    public S3StoreOptions S3 { get; set; } = new();

    /// <summary>Keys per page of local listings. Default 1000.</summary>
    public int LocalListPageSize { get; set; } = 1000;
}

/// <summary>A store and a key in it, as resolved from a URI.</summary>
/// <param name="Store">The store; owned by the resolver that returned it.</param>
/// <param name="Key">The key (or listing prefix) within the store; empty for the store root.</param>
public readonly record struct BlobReference(IBlobStore Store, string Key);

/// <summary>
/// Turns URIs (<c>s3://bucket/key</c>, <c>file:///abs/path</c>, plain paths relative to
/// <see cref="BlobStoreOptions.LocalRoot"/>) into a store and a key, creating one store per bucket or root
/// and reusing it. All its stores share one set of counters (<see cref="Counters"/>). Thread-safe;
/// disposing it disposes its stores.
/// </summary>
public sealed class BlobStoreResolver : IDisposable
{
    private readonly BlobStoreOptions _options;
    private readonly StorageCounters _counters = new();
    private readonly ConcurrentDictionary<(string Scheme, string Container), Lazy<IBlobStore>> _stores = new();
    private int _disposed;

    /// <summary>Creates a resolver; validates the options (S3 ones included) now.</summary>
    public BlobStoreResolver(BlobStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.S3, "BlobStoreOptions.S3");
        options.S3.Validate();
        if (options.LocalListPageSize < 1)
        {
            throw new ArgumentException($"Storage option LocalListPageSize = '{options.LocalListPageSize}' is invalid: expected at least 1.", nameof(options));
        }

        _options = new BlobStoreOptions { LocalRoot = options.LocalRoot, S3 = options.S3.Clone(), LocalListPageSize = options.LocalListPageSize };
    }

    /// <summary>The sum of the counters of every store this resolver made.</summary>
    public StorageCountersSnapshot Counters => _counters.Snapshot();

    /// <summary>Resolves <paramref name="uri"/>; throws <see cref="FormatException"/> naming a malformed one.</summary>
    public BlobReference Resolve(string uri)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var location = BlobLocation.Parse(uri, _options.LocalRoot);
        return new BlobReference(StoreFor(location), location.Key);
    }

    /// <summary>The store of a parsed location.</summary>
    public IBlobStore StoreFor(BlobLocation location)
    {
        ArgumentNullException.ThrowIfNull(location);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _stores.GetOrAdd((location.Scheme, location.Container), static (id, self) => new Lazy<IBlobStore>(() => self.Create(id.Scheme, id.Container)), this).Value;
    }

    /// <summary>Disposes every store (S3 clients included).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var store in _stores.Values)
        {
            if (store.IsValueCreated && store.Value is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }
    }

    private IBlobStore Create(string scheme, string container) => scheme switch
    {
        "s3" => new S3BlobStore(container, _options.S3, _counters),
        "file" => new LocalBlobStore(container, _counters, _options.LocalListPageSize),
        _ => throw new NotSupportedException($"Storage scheme '{scheme}' is not supported; use s3:// or a local path."),
    };
}
