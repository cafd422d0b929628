using VideoData.Storage.Blobs;

namespace VideoData.Training.Data;

/// <summary>A video store that holds open resources (shard readers, a disk cache) until it is disposed.</summary>
public interface IShardVideoStore : IVideoStore, IAsyncDisposable
{
}

/// <summary>
/// Opens the video stores training reads from; the implementations are internal. Feed the store to
/// <see cref="Streaming.BatchStreamer.StreamAsync"/> with a <see cref="Plans.BatchPlan"/>.
/// </summary>
public static class VideoStores
{
    /// <summary>
    /// Opens the feature shards under <paramref name="prefix"/> of <paramref name="blobs"/> (every object
    /// <see cref="Shards.FeatureShardFormat.IsShardKey"/> accepts): reads each shard's footer and index, never its features.
    /// Validates <paramref name="options"/> first. Thread-safe once open; dispose it to close the shards.
    /// </summary>
    /// <exception cref="FileNotFoundException">No shard is under the prefix.</exception>
    /// <exception cref="InvalidDataException">A shard is unreadable, has no index, or repeats a video of another shard; the message names it.</exception>
    public static async Task<IShardVideoStore> OpenFeatureShardsAsync(IBlobStore blobs, string prefix, FeatureShardStoreOptions? options = null, CancellationToken cancellationToken = default) =>
        await FeatureShardVideoStore.OpenAsync(blobs, prefix, options, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// A store over videos already in memory (at least one, unique ids, one feature width), in the given order.
    /// </summary>
    /// <exception cref="ArgumentException">No video, a repeated id, or mixed feature widths.</exception>
    public static IVideoStore InMemory(IEnumerable<VideoRecord> videos) => new InMemoryVideoStore(videos);
}
