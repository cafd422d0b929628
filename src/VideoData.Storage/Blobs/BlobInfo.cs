namespace VideoData.Storage.Blobs;

/// <summary>What a store knows about one object.</summary>
/// <param name="Key">The object's key within its store.</param>
/// <param name="Length">Size in bytes.</param>
/// <param name="LastModified">When the object was last written (UTC).</param>
public sealed record BlobInfo(string Key, long Length, DateTimeOffset LastModified);
