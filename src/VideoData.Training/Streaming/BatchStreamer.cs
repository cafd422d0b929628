using System.Runtime.CompilerServices;
using System.Threading.Channels;
using TorchSharp;
using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using static TorchSharp.torch;

namespace VideoData.Training.Streaming;

/// <summary>
/// Streams the batches of a plan as ready tensors. Several assembler tasks sample and tensorize batches
/// ahead of the consumer; a bounded queue keeps at most <see cref="BatchStreamerOptions.PrefetchDepth"/>
/// of them waiting, so memory is bounded by the options, not by the plan. Batches come out in plan order
/// whatever the timing of the assemblers, and each is a pure function of (store, plan seed, plan epoch,
/// batch): resuming at step <c>s</c> yields exactly the batches an uninterrupted stream yields from <c>s</c>.
/// </summary>
public static class BatchStreamer
{
    /// <summary>
    /// The batches of <paramref name="plan"/> (already sliced for this rank) from <paramref name="startStep"/> on.
    /// Clip randomness is keyed by (<see cref="BatchPlan.Seed"/>, <see cref="BatchPlan.Epoch"/>, video id).
    /// The consumer owns and disposes each batch.
    /// </summary>
    public static async IAsyncEnumerable<ClipBatch> StreamAsync(
        IVideoStore store,
        BatchPlan plan,
        BatchStreamerOptions options,
        int startStep = 0,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(startStep);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(startStep, plan.Batches.Count);
        if (store.FeatureDim != options.Sampler.FeatureDim)
        {
            throw new ArgumentException(
                $"The store holds {store.FeatureDim}-d features but the sampler option FeatureDim is {options.Sampler.FeatureDim}.", nameof(options));
        }

        var sampler = new OverlappedClipSampler(options.Sampler);
        var pool = new FeatureBufferPool();
        var queue = Channel.CreateBounded<Task<ClipBatch>>(new BoundedChannelOptions(options.PrefetchDepth)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var gate = new SemaphoreSlim(options.Assemblers);
        var producer = Task.Run(() => ProduceAsync(store, plan, sampler, options, pool, startStep, queue.Writer, gate, stop.Token), CancellationToken.None);
        try
        {
            await foreach (var pending in queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return await pending.ConfigureAwait(false);
            }

            await producer.ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await DrainAsync(queue.Reader, producer).ConfigureAwait(false);
        }
    }

    private static async Task ProduceAsync(
        IVideoStore store,
        BatchPlan plan,
        OverlappedClipSampler sampler,
        BatchStreamerOptions options,
        FeatureBufferPool pool,
        int startStep,
        ChannelWriter<Task<ClipBatch>> writer,
        SemaphoreSlim gate,
        CancellationToken cancellationToken)
    {
        Exception? failure = null;
        try
        {
            for (var step = startStep; step < plan.Batches.Count; step++)
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                var current = step;
                var assembly = Task.Run(
                    async () =>
                    {
                        try
                        {
                            return await AssembleAsync(store, plan, current, sampler, options, pool, cancellationToken).ConfigureAwait(false);
                        }
                        finally
                        {
                            gate.Release();
                        }
                    },
                    cancellationToken);
                await writer.WriteAsync(assembly, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            writer.TryComplete(failure);
        }
    }

    private static async Task DrainAsync(ChannelReader<Task<ClipBatch>> reader, Task producer)
    {
        try
        {
            await producer.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The consumer stopped early; the producer's cancellation is expected.
        }

        while (reader.TryRead(out var pending))
        {
            try
            {
                (await pending.ConfigureAwait(false)).Dispose();
            }
            catch (OperationCanceledException)
            {
                // Assembly cancelled because the consumer left: nothing to release.
            }
        }
    }

    /// <summary>Samples and tensorizes batch <paramref name="step"/> of <paramref name="plan"/>.</summary>
    internal static async Task<ClipBatch> AssembleAsync(
        IVideoStore store,
        BatchPlan plan,
        int step,
        OverlappedClipSampler sampler,
        BatchStreamerOptions options,
        FeatureBufferPool pool,
        CancellationToken cancellationToken)
    {
        var o = sampler.Options;
        var videos = plan.Batches[step];
        var clipCount = videos.Count * o.ClipsPerVideo;
        var captionLength = o.CaptionLength;
        var dropout = options.TokenDropout;
        var rows = dropout > 0 ? TokenDropout.KeptTokens(o.MaxVideoTokens, dropout) : o.MaxVideoTokens;
        var dim = o.FeatureDim;
        var clipValues = rows * dim;

        var caps = new long[clipCount * captionLength];
        var cmasks = new bool[clipCount * captionLength];
        var vmasks = new bool[clipCount * rows];
        var vpositions = dropout > 0 ? new long[clipCount * rows] : null;
        var ids = new string[clipCount];
        var spans = new ClipSpan[clipCount];
        // The feature buffer is the largest thing a batch holds (33.5 MB at the reference size); it is pooled, and
        // the tensor is a view of it, so a batch costs one pass over its features and no page faults once warm.
        var vfeats = pool.Rent(clipCount * clipValues);
        try
        {
            var clip = 0;
            foreach (var videoId in videos)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var video = await store.GetAsync(videoId, cancellationToken).ConfigureAwait(false);
                var dropRandom = vpositions is null ? null : TokenDropout.Random(plan.Seed, plan.Epoch, videoId);
                foreach (var span in sampler.Sample(video, plan.Seed, plan.Epoch, options.Alignment))
                {
                    ids[clip] = videoId;
                    spans[clip] = span;
                    sampler.WriteCaption(video, span, caps.AsSpan(clip * captionLength, captionLength), cmasks.AsSpan(clip * captionLength, captionLength));
                    if (vpositions is null)
                    {
                        sampler.WriteVideo(video, span, vfeats.AsSpan(clip * clipValues, clipValues), vmasks.AsSpan(clip * rows, rows));
                    }
                    else
                    {
                        var kept = TokenDropout.Choose(Math.Min(o.MaxVideoTokens, span.VideoLength), dropout, dropRandom!);
                        sampler.WriteVideo(video, span, kept, rows, vfeats.AsSpan(clip * clipValues, clipValues), vmasks.AsSpan(clip * rows, rows), vpositions.AsSpan(clip * rows, rows));
                    }

                    clip++;
                }
            }

            var onDevice = options.Device is not null && options.Device.type != DeviceType.CPU;
            var features = ToDevice(from_array(vfeats).view(clipCount, rows, dim), options.Device);
            if (onDevice)
            {
                // The device copy owns its data; the host buffer can serve the next batch.
                pool.Return(vfeats);
                vfeats = null;
            }

            return new ClipBatch(
                plan.Epoch,
                step,
                ToDevice(from_array(caps).view(clipCount, captionLength), options.Device),
                ToDevice(from_array(cmasks).view(clipCount, captionLength), options.Device),
                features,
                ToDevice(from_array(vmasks).view(clipCount, rows), options.Device),
                ids,
                spans,
                vfeats is null ? null : () => pool.Return(vfeats),
                vpositions is null ? null : ToDevice(from_array(vpositions).view(clipCount, rows), options.Device));
        }
        catch
        {
            if (vfeats is not null)
            {
                pool.Return(vfeats);
            }

            throw;
        }
    }

    private static Tensor ToDevice(Tensor host, Device? device)
    {
        if (device is null || device.type == DeviceType.CPU)
        {
            return host;
        }

        // Pinned host memory lets the copy run asynchronously on the device's stream; libtorch's caching host
        // allocator keeps the pinned block alive until that copy has finished, so disposing here is safe.
        using (host)
        using (var pinned = host.pin_memory())
        {
            return pinned.to(device, non_blocking: true);
        }
    }
}
