using VideoData.Captions.Cleaning;
using VideoData.Captions.Reading;
using VideoData.Core.Failures;
using VideoData.Core.Frames;
using VideoData.Media.Decode;
using VideoData.Pipeline.Definition;
using VideoData.Storage.Blobs;
using ShardCaption = VideoData.Shards.CaptionSegment;

namespace VideoData.Pipeline.Run;

/// <summary>Fetching through the storage layer, decoding through our FFmpeg binding, captions through the caption readers and cleaner.</summary>
internal sealed class LibraryPorts : IVideoPorts
{
    private readonly BlobStoreResolver _resolver;
    private readonly DecodeOptions _decode;
    private readonly CaptionCleaner _cleaner;

    /// <param name="resolver">Resolves video and caption URIs to stores.</param>
    /// <param name="definition">The validated pipeline definition (mapped to each library's options by <see cref="LibraryOptions"/>).</param>
    /// <param name="waitForCores">When set, decodes call it before each packet and pause while an encoder pass holds the cores (stages.cpu_turns).</param>
    public LibraryPorts(BlobStoreResolver resolver, PipelineDefinition definition, Func<CancellationToken, bool>? waitForCores = null)
    {
        _resolver = resolver;
        _decode = LibraryOptions.ForDecode(definition, waitForCores);
        _decode.Validate();
        _cleaner = new CaptionCleaner(LibraryOptions.ForCaptionCleaner(definition));
    }

    public async Task<Stream> OpenVideoAsync(VideoWorkItem item, CancellationToken cancellationToken)
    {
        try
        {
            var (store, key) = _resolver.Resolve(item.Uri);
            return await store.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not VideoDataException and not OperationCanceledException and (IOException or UnauthorizedAccessException or ArgumentException or FormatException))
        {
            throw new VideoDataException(FailureClass.Fetch, $"{item.Uri}: {ex.Message}", ex);
        }
    }

    public IAsyncEnumerable<FrameChunk> DecodeAsync(Stream stream, VideoWorkItem item, CancellationToken cancellationToken) =>
        VideoDecoder.DecodeAsync(stream, item.Uri, _decode, cancellationToken);

    public async Task<IReadOnlyList<ShardCaption>?> LoadCaptionsAsync(VideoWorkItem item, CancellationToken cancellationToken)
    {
        if (item.CaptionUri is null)
        {
            return null;
        }

        try
        {
            var (store, key) = _resolver.Resolve(item.CaptionUri);
            var stream = await store.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
            CaptionTrack track;
            await using (stream.ConfigureAwait(false))
            {
                track = CaptionFileReader.Read(stream, item.CaptionUri);
            }

            var cleaned = _cleaner.Clean(item.VideoId, track.Cues);
            return cleaned.Segments.Select(s => new ShardCaption(s.Start, s.End, s.Text, s.TokenIds)).ToList();
        }
        catch (VideoDataException ex) when (ex.FailureClass != FailureClass.Captions)
        {
            throw new VideoDataException(FailureClass.Captions, $"captions {item.CaptionUri}: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is not VideoDataException and not OperationCanceledException and not OutOfMemoryException)
        {
            throw new VideoDataException(FailureClass.Captions, $"captions {item.CaptionUri}: {ex.Message}", ex);
        }
    }
}
