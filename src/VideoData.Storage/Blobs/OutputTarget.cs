using VideoData.Core.IO;

namespace VideoData.Storage.Blobs;

/// <summary>
/// Where one output file goes: a local path (written through <see cref="OutputFile"/>, the project's write-then-rename
/// primitive) or an object of a blob store (written through <see cref="IBlobStore.WriteWithAsync"/>, atomic on a folder
/// and on S3). Writers of plans, embeddings and tables take one of these, so each output can go to S3 as well as to disk,
/// and every write is atomic: a reader sees the old content or the whole new one. A string converts to a local target.
/// </summary>
public readonly record struct OutputTarget
{
    private OutputTarget(string? path, IBlobStore? store, string? key)
    {
        Path = path;
        Store = store;
        Key = key;
    }

    /// <summary>The local path, or null for a store object.</summary>
    public string? Path { get; }

    /// <summary>The store, or null for a local path.</summary>
    public IBlobStore? Store { get; }

    /// <summary>The key in <see cref="Store"/>, or null for a local path.</summary>
    public string? Key { get; }

    /// <summary>The path or the object's URI, for messages.</summary>
    public string Name => Store is null ? Path ?? "" : Store.UriOf(Key!);

    /// <summary>A local file.</summary>
    public static OutputTarget Local(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new OutputTarget(path, null, null);
    }

    /// <summary>An object of <paramref name="store"/>.</summary>
    public static OutputTarget Blob(IBlobStore store, string key)
    {
        ArgumentNullException.ThrowIfNull(store);
        BlobKeys.Validate(key);
        return new OutputTarget(null, store, key);
    }

    /// <summary>
    /// A local path, or a URI with a scheme (<c>s3://bucket/key</c>, <c>file:///…</c>) resolved through
    /// <paramref name="resolver"/>. Plain paths never touch the resolver, so a device such as <c>/dev/null</c> keeps
    /// <see cref="OutputFile"/>'s in-place rule.
    /// </summary>
    public static OutputTarget Parse(string pathOrUri, BlobStoreResolver resolver)
    {
        ArgumentException.ThrowIfNullOrEmpty(pathOrUri);
        ArgumentNullException.ThrowIfNull(resolver);
        if (!pathOrUri.Contains("://", StringComparison.Ordinal))
        {
            return Local(pathOrUri);
        }

        var reference = resolver.Resolve(pathOrUri);
        if (reference.Key.Length == 0 || reference.Key.EndsWith('/'))
        {
            throw new FormatException($"'{pathOrUri}' names a folder or bucket, not an object: give the file's key (e.g. {pathOrUri.TrimEnd('/')}/plan.parquet).");
        }

        return Blob(reference.Store, reference.Key);
    }

    /// <summary>A local file (<c>"plans/epoch-0000.parquet"</c> passes as a target).</summary>
    public static implicit operator OutputTarget(string path) => Local(path);

    /// <summary>Writes the output with <paramref name="write"/>, which fills a readable, writable, seekable stream; atomic.</summary>
    public Task WriteAsync(Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken = default) =>
        Store is null
            ? OutputFile.WriteAsync(Path ?? throw new InvalidOperationException("An empty output target."), write, flushToDisk: true, cancellationToken)
            : Store.WriteWithAsync(Key!, write, cancellationToken);

    /// <inheritdoc />
    public override string ToString() => Name;
}
