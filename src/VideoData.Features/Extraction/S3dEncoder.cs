using System.Runtime.CompilerServices;
using TorchSharp;
using VideoData.Core.Failures;
using VideoData.Core.Frames;
using VideoData.Features.Model;
using VideoData.Features.Runtime;
using VideoData.Features.Weights;
using VideoData.Shards;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace VideoData.Features.Extraction;

/// <summary>
/// The frozen S3D-G video encoder: turns decoded 1-second chunks (RGB24, frame-major) of many videos
/// into one 512-d <c>video_embedding</c> per second (and optionally the 1024-d <c>mixed_5c</c>),
/// batching seconds across videos. Each second is one forward of FramesPerSecond frames, the last
/// partial second zero-padded, pixels /255 with no mean/std normalization (as the reference).
/// Every libtorch call (build, forward, dispose) runs on its <see cref="ComputeHost"/>.
/// One instance is not thread-safe: run one encode at a time on it.
/// </summary>
public sealed class S3dEncoder : IDisposable
{
    private readonly S3dG _model;
    private readonly S3dEncoderOptions _options;
    private readonly Device _device;
    private readonly ScalarType _dtype;
    private readonly ComputeHost _host;
    private readonly bool _ownsHost;

    // One pinned input buffer per encoder, viewed by libtorch without a copy: the bounded input pool.
    private readonly byte[] _stagingBuffer;
    private readonly Tensor _staging;
    private readonly int _frameBytes;
    private readonly int _secondBytes;
    private bool _disposed;

    private S3dEncoder(S3dG model, S3dEncoderOptions options, Device device, ScalarType dtype, string weightsSha256, ComputeHost host, bool ownsHost)
    {
        _host = host;
        _ownsHost = ownsHost;
        _model = model;
        _options = options;
        _device = device;
        _dtype = dtype;
        WeightsSha256 = weightsSha256;
        _frameBytes = options.FrameSize * options.FrameSize * 3;
        _secondBytes = _frameBytes * options.FramesPerSecond;
        _stagingBuffer = GC.AllocateUninitializedArray<byte>(_secondBytes * options.SecondsPerBatch, pinned: true);
        _staging = frombuffer(_stagingBuffer, ScalarType.Byte)
            .view(options.SecondsPerBatch, options.FramesPerSecond, options.FrameSize, options.FrameSize, 3);
    }

    /// <summary>Content hash of the loaded weights, for lineage.</summary>
    public string WeightsSha256 { get; }

    /// <summary>The device the model runs on, e.g. <c>cpu</c> or <c>cuda:0</c>.</summary>
    public string DeviceName => _device.ToString();

    /// <summary>The forward precision in use (<c>float32</c> or <c>float16</c>).</summary>
    public string PrecisionName => _dtype == ScalarType.Float16 ? "float16" : "float32";

    /// <summary>Seconds per forward pass.</summary>
    public int SecondsPerBatch => _options.SecondsPerBatch;

    /// <summary>
    /// Loads weights (safetensors or PyTorch zip <c>.pth</c>) and builds the encoder. Throws
    /// <see cref="InvalidDataException"/> for unusable weights, <see cref="ArgumentException"/> for a
    /// bad option (naming it) and <see cref="NativeDependencyException"/> when libtorch or the
    /// requested CUDA device is not available.
    /// </summary>
    /// <param name="weightsPath">The weights file.</param>
    /// <param name="options">Encoder options; validated here.</param>
    /// <param name="host">
    /// Where the model is built and every forward pass runs (the caller keeps ownership; dispose the encoder first).
    /// Null: the encoder starts a host of its own on a dedicated thread, with <see cref="S3dEncoderOptions.Threads"/>
    /// intra-op threads and the <see cref="NativeHeapPolicy.Reuse"/> heap policy, and disposes it with itself.
    /// </param>
    public static S3dEncoder Create(string weightsPath, S3dEncoderOptions? options = null, ComputeHost? host = null) =>
        Create(WeightsFile.Load(weightsPath), options, host);

    /// <summary>Builds the encoder from an already loaded state dict (see the other overload).</summary>
    public static S3dEncoder Create(StateDict weights, S3dEncoderOptions? options = null, ComputeHost? host = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var o = (options ?? new S3dEncoderOptions()).Validated();
        if ((long)o.SecondsPerBatch * o.FramesPerSecond * o.FrameSize * o.FrameSize * 3 > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Encoder options SecondsPerBatch·FramesPerSecond·FrameSize²·3 exceed one input buffer (2 GiB); lower SecondsPerBatch.");
        }

        if (host is not null && o.Threads > 0 && o.Threads != host.IntraOpThreads)
        {
            throw new ArgumentException(
                $"Encoder option Threads = {o.Threads}, but the compute host it was given runs libtorch on {host.IntraOpThreads} threads; set the count on the host (ComputeHostOptions.IntraOpThreads) or leave Threads 0.",
                nameof(options));
        }

        var ownsHost = host is null;
        host ??= ComputeHost.Start(new ComputeHostOptions { IntraOpThreads = o.Threads, NativeHeap = NativeHeapPolicy.Reuse });
        try
        {
            // Built where its passes will run (one OpenMP team; see ComputeThread).
            return host.Run(() => Build(weights, o, host, ownsHost));
        }
        catch
        {
            if (ownsHost)
            {
                host.Dispose();
            }

            throw;
        }
    }

    private static S3dEncoder Build(StateDict weights, S3dEncoderOptions o, ComputeHost host, bool ownsHost)
    {
        S3dG model;
        try
        {
            model = new S3dG();
        }
        catch (Exception ex) when (ex is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException or NotSupportedException)
        {
            throw new NativeDependencyException($"libtorch (TorchSharp) could not be loaded: {ex.GetBaseException().Message}. Run `videodata doctor` for details.", ex);
        }

        try
        {
            StateDictLoader.Load(model, weights);
            model.eval();
            var device = TorchSharp.torch.device(o.Device);
            if (device.type == DeviceType.CUDA && !cuda.is_available())
            {
                throw new NativeDependencyException($"Encoder device '{o.Device}' was requested but libtorch sees no CUDA device (this build's TorchSharp backend may be CPU-only; build with -p:TorchBackend=cuda (TorchSharp-cuda-linux) on a GPU machine).");
            }

            var dtype = o.Precision == EncoderPrecision.Float16 || (o.Precision == EncoderPrecision.Auto && device.type == DeviceType.CUDA)
                ? ScalarType.Float16
                : ScalarType.Float32;
            model.to(device);
            model.to(dtype);
            return new S3dEncoder(model, o, device, dtype, weights.Sha256, host, ownsHost);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The lineage to record in feature shards written from this encoder's output.</summary>
    public ShardLineage CreateLineage() => new()
    {
        WeightsSha256 = WeightsSha256,
        Fps = _options.FramesPerSecond,
        FrameSize = _options.FrameSize,
        L2Normalized = _options.L2Normalize,
        Extra = new Dictionary<string, string> { ["videodata.encoder_precision"] = PrecisionName },
    };

    /// <summary>
    /// Encodes one video; throws the <see cref="VideoDataException"/> (class decode, encode, …) if it fails.
    /// </summary>
    public async Task<VideoFeatures> EncodeVideoAsync(string videoId, IAsyncEnumerable<FrameChunk> chunks, CancellationToken cancellationToken = default)
    {
        await foreach (var result in EncodeAsync(Single(new VideoFrames(videoId, chunks)), cancellationToken).ConfigureAwait(false))
        {
            return result.Features ?? throw result.Failure!;
        }

        throw new InvalidOperationException("The encoder produced no result for the video.");
    }

    /// <summary>
    /// Encodes videos in order, batching <see cref="S3dEncoderOptions.SecondsPerBatch"/> seconds per
    /// forward across video boundaries, and yields one result per video in input order as soon as all
    /// its seconds are encoded. A video whose chunks fail with a <see cref="VideoDataException"/>, or
    /// that breaks the chunk contract, is yielded as a failure and the others go on. Chunks are
    /// disposed as soon as they are copied into the input buffer.
    /// </summary>
    public async IAsyncEnumerable<EncodedVideo> EncodeAsync(IAsyncEnumerable<VideoFrames> videos, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(videos);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var queue = new Queue<PendingVideo>();
        var slots = new List<(PendingVideo Video, int Second)>(_options.SecondsPerBatch);
        await foreach (var video in videos.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var pending = new PendingVideo(video.VideoId, _options.IncludeMixed5c);
            queue.Enqueue(pending);
            var enumerator = video.Chunks.GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    FrameChunk chunk;
                    try
                    {
                        if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                        {
                            break;
                        }

                        chunk = enumerator.Current;
                    }
                    catch (VideoDataException ex)
                    {
                        pending.Fail(ex);
                        break;
                    }

                    using (chunk)
                    {
                        if (pending.Failure is not null)
                        {
                            // Failed by an earlier batch (non-finite features): its remaining seconds are read, so the
                            // decoder feeding them is not left waiting, and dropped unencoded.
                            continue;
                        }

                        if (Check(chunk, pending) is { } problem)
                        {
                            pending.Fail(new VideoDataException(FailureClass.Encode, $"Video '{pending.VideoId}': {problem}"));
                            break;
                        }

                        Stage(chunk, slots.Count);
                    }

                    slots.Add((pending, pending.SecondsSeen++));
                    if (slots.Count == _options.SecondsPerBatch)
                    {
                        await RunBatchAsync(slots, cancellationToken).ConfigureAwait(false);
                        slots.Clear();
                        while (queue.Count > 0 && queue.Peek().IsComplete)
                        {
                            yield return queue.Dequeue().ToResult();
                        }
                    }
                }
            }
            finally
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
            }

            pending.InputDone = true;
            while (queue.Count > 0 && queue.Peek().IsComplete)
            {
                yield return queue.Dequeue().ToResult();
            }
        }

        if (slots.Count > 0)
        {
            await RunBatchAsync(slots, cancellationToken).ConfigureAwait(false);
            slots.Clear();
        }

        while (queue.Count > 0)
        {
            yield return queue.Dequeue().ToResult();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _host.Run(() =>
        {
            _staging.Dispose();
            _model.Dispose();
            return 0;
        });
        if (_ownsHost)
        {
            _host.Dispose();
        }
    }

    private static async IAsyncEnumerable<VideoFrames> Single(VideoFrames video)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield return video;
    }

    private string? Check(FrameChunk chunk, PendingVideo video)
    {
        if (video.Failure is not null)
        {
            return null;
        }

        if (chunk.Size != _options.FrameSize)
        {
            return $"second {chunk.SecondIndex} has {chunk.Size}×{chunk.Size} frames; the encoder expects {_options.FrameSize}×{_options.FrameSize}.";
        }

        if (chunk.FrameCount > _options.FramesPerSecond)
        {
            return $"second {chunk.SecondIndex} has {chunk.FrameCount} frames; at most {_options.FramesPerSecond} fit one second.";
        }

        if (chunk.SecondIndex != video.SecondsSeen)
        {
            return $"chunk for second {chunk.SecondIndex} arrived where second {video.SecondsSeen} was expected.";
        }

        return null;
    }

    private void Stage(FrameChunk chunk, int slot)
    {
        var target = _stagingBuffer.AsSpan(slot * _secondBytes, _secondBytes);
        var pixels = chunk.Pixels;
        pixels.CopyTo(target);

        // The reference pads a short last second with black frames up to a full second.
        target[pixels.Length..].Clear();
    }

    private async ValueTask RunBatchAsync(List<(PendingVideo Video, int Second)> slots, CancellationToken cancellationToken)
    {
        var n = slots.Count;
        float[] embeddings;
        float[]? mixed;
        try
        {
            // On the host's thread (the main thread when the CLI lends it: there the activations' memory is reused batch
            // after batch); the host holds the cores meanwhile, so decoders sharing them stay off until the pass is done.
            (embeddings, mixed) = await _host.RunAsync(() => Forward(n, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            foreach (var video in slots.Select(s => s.Video).Distinct())
            {
                video.Fail(new VideoDataException(FailureClass.Encode, $"Video '{video.VideoId}': the encoder failed on a batch of {n} seconds: {ex.Message}", ex));
            }

            return;
        }

        for (var i = 0; i < n; i++)
        {
            var (video, second) = slots[i];
            var embedding = embeddings.AsSpan(i * VideoFeatures.Dim, VideoFeatures.Dim);
            var mixed5c = mixed is null ? default : mixed.AsSpan(i * VideoFeatures.Mixed5cDim, VideoFeatures.Mixed5cDim);

            // Invariant: a second whose features are not all finite never becomes part of a successful result. The
            // video fails (class encode) naming the second, so the ledger reports what was lost instead of a shard
            // silently holding NaN rows that every later epoch would train on.
            if (NonFiniteCount(embedding) + NonFiniteCount(mixed5c) is > 0 and var bad)
            {
                video.Fail(new VideoDataException(
                    FailureClass.Encode,
                    $"Video '{video.VideoId}': second {second}: the encoder produced {bad} non-finite value(s) (NaN or infinity) among the second's "
                    + $"{embedding.Length + mixed5c.Length} features (batch of {n} seconds); the video is not recorded as done."));
                continue;
            }

            video.SetSecond(second, embedding, mixed5c);
        }
    }

    /// <summary>How many of <paramref name="values"/> are NaN or infinite.</summary>
    internal static int NonFiniteCount(ReadOnlySpan<float> values)
    {
        var count = 0;
        foreach (var value in values)
        {
            if (!float.IsFinite(value))
            {
                count++;
            }
        }

        return count;
    }

    private (float[] Embeddings, float[]? Mixed5c) Forward(int n, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();

        // uint8 [n,T,H,W,3] on the device; the model converts it to float in [0,1] a few seconds at a time (in
        // libtorch), so the float input of the whole batch never exists at once.
        using var frames = _staging.narrow(0, 0, n).to(_device);
        var (embedding, mixed5c) = _model.ForwardFrames(frames, _dtype, cancellationToken);
        var output = embedding.to_type(ScalarType.Float32);
        if (_options.L2Normalize)
        {
            output = F.normalize(output, p: 2, dim: 1);
        }

        var embeddings = output.cpu().data<float>().ToArray();
        var mixed = _options.IncludeMixed5c ? mixed5c.to_type(ScalarType.Float32).cpu().data<float>().ToArray() : null;
        return (embeddings, mixed);
    }

    /// <summary>A video whose seconds are (partly) in flight.</summary>
    private sealed class PendingVideo(string videoId, bool withMixed)
    {
        private readonly List<float[]?> _embeddings = [];
        private readonly List<float[]?> _mixed = [];
        private int _done;

        public string VideoId { get; } = videoId;

        public int SecondsSeen { get; set; }

        public bool InputDone { get; set; }

        public VideoDataException? Failure { get; private set; }

        public bool IsComplete => Failure is not null || (InputDone && _done == SecondsSeen);

        public void Fail(VideoDataException failure)
        {
            Failure ??= failure;
            InputDone = true;
        }

        public void SetSecond(int second, ReadOnlySpan<float> embedding, ReadOnlySpan<float> mixed)
        {
            if (Failure is not null)
            {
                return;
            }

            while (_embeddings.Count <= second)
            {
                _embeddings.Add(null);
                _mixed.Add(null);
            }

            _embeddings[second] = embedding.ToArray();
            if (withMixed)
            {
                _mixed[second] = mixed.ToArray();
            }

            _done++;
        }

        public EncodedVideo ToResult()
        {
            if (Failure is not null)
            {
                return new EncodedVideo(VideoId, null, Failure);
            }

            var seconds = SecondsSeen;
            var embeddings = new float[seconds * VideoFeatures.Dim];
            var mixed = withMixed ? new float[seconds * VideoFeatures.Mixed5cDim] : null;
            for (var s = 0; s < seconds; s++)
            {
                _embeddings[s].AsSpan().CopyTo(embeddings.AsSpan(s * VideoFeatures.Dim));
                if (mixed is not null)
                {
                    _mixed[s].AsSpan().CopyTo(mixed.AsSpan(s * VideoFeatures.Mixed5cDim));
                }
            }

            return new EncodedVideo(VideoId, new VideoFeatures(VideoId, seconds, embeddings, mixed), null);
        }
    }
}
