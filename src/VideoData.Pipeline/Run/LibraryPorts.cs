using VideoData.Captions.Cleaning;
using VideoData.Captions.Reading;
using VideoData.Core.Failures;
using VideoData.Core.Frames;
using VideoData.Core.Scheduling;
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

    /// <param name="turns">When set, decodes pause while an encoder pass holds the cores (stages.cpu_turns).</param>
    public LibraryPorts(BlobStoreResolver resolver, PipelineDefinition definition, CpuTurns? turns = null)
    {
        _resolver = resolver;
        _decode = new DecodeOptions
        {
            Fps = definition.Decode.Fps,
            Size = definition.Decode.Size,
            Decoder = definition.Decode.Decoder switch
            {
                "cpu" => DecoderPreference.Cpu,
                "cuda" => DecoderPreference.Cuda,
                _ => DecoderPreference.Auto,
            },
            Threads = definition.Decode.Threads,
            WatchdogTimeout = TimeSpan.FromSeconds(definition.Decode.TimeoutSeconds),
            MaxDuration = TimeSpan.FromSeconds(definition.Decode.MaxDurationSeconds),
            MaxDecodeTime = TimeSpan.FromSeconds(definition.Decode.MaxDecodeSeconds),
            MinBytesPerSecond = definition.Decode.MinBytesPerSecond,
            FormatWhitelist = definition.Decode.FormatWhitelist,
            Turns = turns,
        };
        _decode.Validate();
        _cleaner = new CaptionCleaner(new CaptionCleanerOptions
        {
            Dedup = CaptionCleanerOptions.ParseDedup(definition.Captions.Dedup),
            Seed = unchecked((ulong)definition.Captions.Seed),
            Normalize = definition.Captions.Normalize,
            MaxCueCharacters = definition.Captions.MaxCueCharacters,
        });
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
