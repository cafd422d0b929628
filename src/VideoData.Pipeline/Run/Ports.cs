using VideoData.Core.Frames;
using VideoData.Features.Extraction;
using VideoData.Shards;

namespace VideoData.Pipeline.Run;

/// <summary>One video of a shard as the pipeline schedules it.</summary>
/// <param name="VideoId">The manifest's (validated) video id.</param>
/// <param name="Uri">Where the video is (a path or URI).</param>
/// <param name="CaptionUri">Where its captions are, or null.</param>
/// <param name="PreviousAttempts">How many earlier runs tried it (0 for a new video).</param>
public sealed record VideoWorkItem(string VideoId, string Uri, string? CaptionUri, int PreviousAttempts);

/// <summary>
/// The pipeline's view of fetching, decoding and captions, so the stage graph is independent of where
/// bytes come from. The production implementation is <see cref="LibraryPorts"/>.
/// </summary>
internal interface IVideoPorts
{
    /// <summary>Opens the video's bytes as a seekable stream (failure class <c>fetch</c> on error).</summary>
    Task<Stream> OpenVideoAsync(VideoWorkItem item, CancellationToken cancellationToken);

    /// <summary>Decodes the stream into 1-second chunks (failure classes <c>probe</c>, <c>decode</c>, <c>timeout</c>).</summary>
    IAsyncEnumerable<FrameChunk> DecodeAsync(Stream stream, VideoWorkItem item, CancellationToken cancellationToken);

    /// <summary>Loads, cleans and tokenizes the video's captions; null when it has none (failure class <c>captions</c> on error).</summary>
    Task<IReadOnlyList<CaptionSegment>?> LoadCaptionsAsync(VideoWorkItem item, CancellationToken cancellationToken);
}

/// <summary>Encodes whole videos, batching seconds across them (the production one is S3D-G, <see cref="VideoData.Features.Extraction.S3dEncoder"/>).</summary>
internal interface IVideoEncoder
{
    /// <summary>Lineage of the encoder for shard metadata.</summary>
    ShardLineage Lineage { get; }

    /// <summary>Consumes videos in order and yields one result per video, in the same order.</summary>
    IAsyncEnumerable<EncodedVideo> EncodeAsync(IAsyncEnumerable<VideoFrames> videos, CancellationToken cancellationToken);
}
