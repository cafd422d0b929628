using VideoData.Core.Failures;
using VideoData.Core.Frames;

namespace VideoData.Features.Extraction;

/// <summary>A video to encode: its id and its decoded 1-second chunks in order (consumed and disposed by the encoder).</summary>
/// <param name="VideoId">The video id, for results and messages.</param>
/// <param name="Chunks">Chunks with SecondIndex 0, 1, 2, … .</param>
public sealed record VideoFrames(string VideoId, IAsyncEnumerable<FrameChunk> Chunks);

/// <summary>
/// A video's features: <see cref="Embeddings"/> is row-major [<see cref="Seconds"/>, 512]
/// (<c>video_embedding</c>); <see cref="Mixed5c"/>, when requested, is [<see cref="Seconds"/>, 1024].
/// </summary>
public sealed record VideoFeatures(string VideoId, int Seconds, float[] Embeddings, float[]? Mixed5c)
{
    /// <summary>Width of an embedding row.</summary>
    public const int Dim = 512;

    /// <summary>Width of a <c>mixed_5c</c> row.</summary>
    public const int Mixed5cDim = 1024;
}

/// <summary>The outcome for one video: features, or the failure to record in the ledger.</summary>
/// <param name="VideoId">The video id.</param>
/// <param name="Features">The features when encoding succeeded.</param>
/// <param name="Failure">Why the video failed (class decode, encode, …) when it did.</param>
public sealed record EncodedVideo(string VideoId, VideoFeatures? Features, VideoDataException? Failure)
{
    /// <summary>Whether the video was encoded.</summary>
    public bool Succeeded => Features is not null;
}
