using VideoData.Storage.Blobs;
using VideoData.Storage.S3;

namespace VideoData.Cli.Commands;

/// <summary>
/// Turns a command's output arguments (<c>--out</c>, <c>--write-embeddings</c>) into <see cref="OutputTarget"/>s: a plain
/// path stays a local file (full path, as messages and <c>--json</c> report it); a URI (<c>s3://bucket/key</c>) is an
/// object of a store reached with the standard <c>VIDEODATA_S3_*</c>/AWS environment. Owns the stores it makes.
/// </summary>
internal sealed class CommandOutputs : IDisposable
{
    private BlobStoreResolver? _resolver;

    /// <summary>The target <paramref name="value"/> names; throws <see cref="FormatException"/> naming a malformed URI.</summary>
    public OutputTarget Target(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        if (!value.Contains("://", StringComparison.Ordinal))
        {
            return OutputTarget.Local(Path.GetFullPath(value));
        }

        _resolver ??= new BlobStoreResolver(new BlobStoreOptions { S3 = new S3StoreOptions().ApplyEnvironment() });
        return OutputTarget.Parse(value, _resolver);
    }

    /// <inheritdoc />
    public void Dispose() => _resolver?.Dispose();
}
