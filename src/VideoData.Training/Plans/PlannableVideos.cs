using VideoData.Training.Data;

namespace VideoData.Training.Plans;

/// <summary>
/// The videos of a store that can go into a batch plan, and the ones left out. A clip needs text, so a video
/// with no caption segments (preprocessing keeps such videos, with their features, when their caption file
/// is missing or unreadable) cannot be sampled; it is left out of every plan instead of stopping training.
/// </summary>
/// <param name="Store">The store restricted to the plannable videos, in the original store's order.</param>
/// <param name="WithoutCaptions">Ids of the videos left out because they have no caption segments, in store order.</param>
/// <param name="Screened">How many videos the original store held.</param>
internal sealed record PlannableVideos(IVideoStore Store, IReadOnlyList<string> WithoutCaptions, int Screened)
{
    /// <summary>
    /// Reads every video of <paramref name="store"/> once and keeps those with at least one caption segment; reads
    /// run <paramref name="parallelism"/> at a time. This suits stores in memory; for feature shards,
    /// <see cref="ShardCaptionCensus"/> with <see cref="Exclude"/> finds the same videos reading only two small columns.
    /// </summary>
    /// <exception cref="InvalidDataException">Every video lacks captions: there is nothing to train on.</exception>
    public static async Task<PlannableVideos> ScreenAsync(IVideoStore store, int parallelism = 4, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        var ids = store.VideoIds;
        var captioned = new bool[ids.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, ids.Count),
            new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                var video = await store.GetAsync(ids[i], token).ConfigureAwait(false);
                captioned[i] = video.Segments.Count > 0;
            }).ConfigureAwait(false);

        var kept = new List<string>(ids.Count);
        var skipped = new List<string>();
        for (var i = 0; i < ids.Count; i++)
        {
            (captioned[i] ? kept : skipped).Add(ids[i]);
        }

        return Create(store, kept, skipped);
    }

    /// <summary>
    /// The videos of <paramref name="store"/> except <paramref name="withoutCaptions"/>, known without reading the
    /// videos (for feature shards, from <see cref="ShardCaptionCensus"/>). Ids not in the store are ignored.
    /// </summary>
    /// <exception cref="InvalidDataException">Every video lacks captions: there is nothing to train on.</exception>
    public static PlannableVideos Exclude(IVideoStore store, IReadOnlySet<string> withoutCaptions)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(withoutCaptions);
        var kept = new List<string>(store.VideoIds.Count);
        var skipped = new List<string>();
        foreach (var id in store.VideoIds)
        {
            (withoutCaptions.Contains(id) ? skipped : kept).Add(id);
        }

        return Create(store, kept, skipped);
    }

    private static PlannableVideos Create(IVideoStore store, List<string> kept, List<string> skipped)
    {
        if (kept.Count == 0)
        {
            throw new InvalidDataException($"None of the {store.VideoIds.Count} videos has caption segments; training needs text for every clip.");
        }

        return new PlannableVideos(skipped.Count == 0 ? store : new Subset(store, kept), skipped, store.VideoIds.Count);
    }

    /// <summary>
    /// One line for logs, e.g. "skipped 1 video without captions (demo001)"; lists at most
    /// <paramref name="maxIds"/> ids. Empty when nothing was skipped.
    /// </summary>
    public string Describe(int maxIds = 5)
    {
        if (WithoutCaptions.Count == 0)
        {
            return string.Empty;
        }

        var noun = WithoutCaptions.Count == 1 ? "video" : "videos";
        var shown = string.Join(", ", WithoutCaptions.Take(maxIds));
        var more = WithoutCaptions.Count > maxIds ? $", … {WithoutCaptions.Count - maxIds} more" : string.Empty;
        return $"skipped {WithoutCaptions.Count} {noun} without captions ({shown}{more}) of {Screened}";
    }

    private sealed class Subset(IVideoStore inner, IReadOnlyList<string> ids) : IVideoStore
    {
        private readonly HashSet<string> _members = new(ids, StringComparer.Ordinal);

        public IReadOnlyList<string> VideoIds => ids;

        public int FeatureDim => inner.FeatureDim;

        public ValueTask<VideoRecord> GetAsync(string videoId, CancellationToken cancellationToken = default) =>
            _members.Contains(videoId)
                ? inner.GetAsync(videoId, cancellationToken)
                : throw new KeyNotFoundException($"Video '{videoId}' is not among the plannable videos (it has no captions, or is not in the store).");
    }
}
