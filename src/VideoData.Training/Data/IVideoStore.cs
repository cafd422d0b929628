namespace VideoData.Training.Data;

/// <summary>
/// Random access to the videos training samples from. Implementations must be safe to call from several
/// assembler tasks at once.
/// </summary>
public interface IVideoStore
{
    /// <summary>Every video id the store holds, in a stable order.</summary>
    IReadOnlyList<string> VideoIds { get; }

    /// <summary>Width of the feature rows of every video.</summary>
    int FeatureDim { get; }

    /// <summary>The video <paramref name="videoId"/>; throws <see cref="KeyNotFoundException"/> naming it when absent.</summary>
    ValueTask<VideoRecord> GetAsync(string videoId, CancellationToken cancellationToken = default);
}

/// <summary>A store over records already in memory: tests, synthetic corpora, and small held-out sets.</summary>
internal sealed class InMemoryVideoStore : IVideoStore
{
    private readonly Dictionary<string, VideoRecord> _videos;

    /// <summary>Holds <paramref name="videos"/>; ids must be distinct and every video must have the same feature width.</summary>
    public InMemoryVideoStore(IEnumerable<VideoRecord> videos)
    {
        ArgumentNullException.ThrowIfNull(videos);
        _videos = new Dictionary<string, VideoRecord>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var video in videos)
        {
            if (!_videos.TryAdd(video.VideoId, video))
            {
                throw new ArgumentException($"Video id '{video.VideoId}' appears more than once.", nameof(videos));
            }

            order.Add(video.VideoId);
        }

        if (order.Count == 0)
        {
            throw new ArgumentException("The store needs at least one video.", nameof(videos));
        }

        FeatureDim = _videos[order[0]].FeatureDim;
        var odd = _videos.Values.FirstOrDefault(v => v.FeatureDim != FeatureDim);
        if (odd is not null)
        {
            throw new ArgumentException($"Video '{odd.VideoId}' has {odd.FeatureDim}-d features, others {FeatureDim}-d.", nameof(videos));
        }

        VideoIds = order;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> VideoIds { get; }

    /// <inheritdoc />
    public int FeatureDim { get; }

    /// <inheritdoc />
    public ValueTask<VideoRecord> GetAsync(string videoId, CancellationToken cancellationToken = default) =>
        _videos.TryGetValue(videoId, out var video)
            ? ValueTask.FromResult(video)
            : throw new KeyNotFoundException($"Video '{videoId}' is not in the store.");
}
