using System.Security.Cryptography;
using System.Text;

namespace VideoData.Training.Data;

/// <summary>Splits a store into training and held-out videos, the same way on every machine.</summary>
internal static class VideoStoreSplit
{
    /// <summary>
    /// Holds out the <paramref name="heldOutVideos"/> ids whose SHA-256 sorts first (a fixed, seed-free split
    /// that does not depend on shard order) and trains on the rest.
    /// </summary>
    public static (IVideoStore Train, IVideoStore? HeldOut) Split(IVideoStore store, int heldOutVideos)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfNegative(heldOutVideos);
        if (heldOutVideos == 0)
        {
            return (store, null);
        }

        if (heldOutVideos >= store.VideoIds.Count)
        {
            throw new ArgumentException($"Holding out {heldOutVideos} videos would leave none of the store's {store.VideoIds.Count} to train on.", nameof(heldOutVideos));
        }

        var ranked = store.VideoIds.OrderBy(id => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id))), StringComparer.Ordinal).ToList();
        var heldOut = ranked.Take(heldOutVideos).ToHashSet(StringComparer.Ordinal);
        var train = store.VideoIds.Where(id => !heldOut.Contains(id)).ToList();
        return (new Subset(store, train), new Subset(store, store.VideoIds.Where(heldOut.Contains).ToList()));
    }

    private sealed class Subset(IVideoStore inner, IReadOnlyList<string> ids) : IVideoStore
    {
        private readonly HashSet<string> _members = new(ids, StringComparer.Ordinal);

        public IReadOnlyList<string> VideoIds => ids;

        public int FeatureDim => inner.FeatureDim;

        public ValueTask<VideoRecord> GetAsync(string videoId, CancellationToken cancellationToken = default) =>
            _members.Contains(videoId)
                ? inner.GetAsync(videoId, cancellationToken)
                : throw new KeyNotFoundException($"Video '{videoId}' is not in this part of the split.");
    }
}
