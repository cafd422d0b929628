using TorchSharp;
using VideoData.Shards;
using VideoData.Training.Data;
using VideoData.Training.Model;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using VideoData.Training.Streaming;
using static TorchSharp.torch;

namespace VideoData.Training.Retrieval;

/// <summary>
/// Computes one vector per video: from the current model as the reference pools it, or (epoch 0,
/// before there is a model) as the mean of the video's frozen features.
/// </summary>
internal static class VideoEmbedder
{
    /// <summary>
    /// The reference's per-video embedding (DESIGN §3): <see cref="ClipSamplerOptions.ClipsPerVideo"/> clips per
    /// video with the video span equal to the text span (<see cref="ClipAlignment.Aligned"/>), per clip
    /// (pooled video + pooled text) / 2 from <see cref="VideoClipModel.EncodeClips"/>, averaged over the clips.
    /// Runs the batch streamer over every video of <paramref name="store"/> in inference mode; clip
    /// randomness comes from (<paramref name="seed"/>, <paramref name="epoch"/>, video id), so the result is
    /// reproducible. The model's training flag is restored afterwards.
    /// </summary>
    /// <param name="store">The videos to embed.</param>
    /// <param name="model">The current model; the clips are built on the device its weights are on.</param>
    /// <param name="streamer">Sampler and assembly parameters; alignment and device are set here.</param>
    /// <param name="seed">The run seed.</param>
    /// <param name="epoch">The epoch the embeddings are for (recorded in the lineage).</param>
    /// <param name="checkpoint">A label for the model's weights (recorded in the lineage), or null.</param>
    /// <param name="videosPerBatch">Videos per forward pass (× clips per video rows).</param>
    /// <param name="cancellationToken">Stops the pass.</param>
    public static async Task<VideoEmbeddings> FromModelAsync(
        IVideoStore store,
        VideoClipModel model,
        BatchStreamerOptions streamer,
        long seed,
        int epoch,
        string? checkpoint = null,
        int videosPerBatch = 32,
        CancellationToken cancellationToken = default)
    {
        var ids = CheckedIds(store, model, streamer, epoch, videosPerBatch);

        var (vectors, hidden) = await EmbedAsync(store, ids, model, streamer, seed, epoch, videosPerBatch, cancellationToken).ConfigureAwait(false);
        return VideoEmbeddings.Create(ids, vectors, hidden, new EmbeddingLineage(EmbeddingSources.Model, checkpoint, epoch));
    }

    /// <summary>
    /// <see cref="FromModelAsync"/> split across the ranks of <paramref name="collective"/>: rank r embeds the r-th
    /// contiguous share of the videos in id order, and the shares are all-gathered, so every rank returns the whole
    /// table, bit-identical on every rank (each video's vector is computed once, by one rank). Every rank must call it
    /// with the same store, seed and epoch, and a model with the same weights.
    /// </summary>
    public static async Task<VideoEmbeddings> FromModelAcrossRanksAsync(
        IVideoStore store,
        VideoClipModel model,
        BatchStreamerOptions streamer,
        long seed,
        int epoch,
        Distributed.ICollective collective,
        string? checkpoint = null,
        int videosPerBatch = 32,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(collective);
        if (collective.WorldSize == 1)
        {
            return await FromModelAsync(store, model, streamer, seed, epoch, checkpoint, videosPerBatch, cancellationToken).ConfigureAwait(false);
        }

        var ids = CheckedIds(store, model, streamer, epoch, videosPerBatch);

        var first = (int)((long)ids.Length * collective.Rank / collective.WorldSize);
        var end = (int)((long)ids.Length * (collective.Rank + 1) / collective.WorldSize);
        var (mine, hidden) = end > first
            ? await EmbedAsync(store, ids[first..end], model, streamer, seed, epoch, videosPerBatch, cancellationToken).ConfigureAwait(false)
            : ([], 0);
        var header = BitConverter.GetBytes(hidden);
        var payload = new byte[sizeof(int) + (mine.Length * sizeof(float))];
        header.CopyTo(payload, 0);
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(mine.AsSpan()).CopyTo(payload.AsSpan(sizeof(int)));
        var parts = collective.AllGather(payload);
        hidden = parts.Select(p => BitConverter.ToInt32(p, 0)).Max();
        var vectors = new float[checked(ids.Length * hidden)];
        var at = 0;
        foreach (var part in parts)
        {
            var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(part.AsSpan(sizeof(int)));
            values.CopyTo(vectors.AsSpan(at));
            at += values.Length;
        }

        if (at != vectors.Length)
        {
            throw new InvalidOperationException($"The ranks' embedding shares hold {at} values; {ids.Length} videos × {hidden} need {vectors.Length}.");
        }

        return VideoEmbeddings.Create(ids, vectors, hidden, new EmbeddingLineage(EmbeddingSources.Model, checkpoint, epoch));
    }

    /// <summary>Embeds <paramref name="ids"/> (in that order) and returns the vectors, row-major, and their width.</summary>
    private static async Task<(float[] Vectors, int Hidden)> EmbedAsync(
        IVideoStore store,
        string[] ids,
        VideoClipModel model,
        BatchStreamerOptions streamer,
        long seed,
        int epoch,
        int videosPerBatch,
        CancellationToken cancellationToken)
    {
        // The clips go where the model's weights are, whatever device the caller's streamer options name.
        var device = model.parameters().First().device;
        var options = streamer with { Alignment = ClipAlignment.Aligned, Device = device.type == DeviceType.CPU ? null : device, TokenDropout = 0 };
        var clipsPerVideo = options.Sampler.ClipsPerVideo;
        var batches = ids.Chunk(videosPerBatch).Select(chunk => (IReadOnlyList<string>)chunk).ToList();
        // The streamer walks a plan; this one is only the order of the embedding pass and is never written.
        var pass = new BatchPlan(epoch, seed, BatchPlanKinds.Shuffled, batches, videosPerBatch, "embedding pass");

        var wasTraining = model.training;
        model.eval();
        try
        {
            float[]? vectors = null;
            var hidden = 0;
            var row = 0;
            await foreach (var batch in BatchStreamer.StreamAsync(store, pass, options, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                using (batch)
                {
                    var videos = batch.ClipCount / clipsPerVideo;
                    var pooled = Pool(model, batch, videos, clipsPerVideo);
                    hidden = pooled.Length / videos;
                    vectors ??= new float[checked(ids.Length * hidden)];
                    pooled.CopyTo(vectors, row * hidden);
                    row += videos;
                }
            }

            return (vectors!, hidden);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>
    /// The mean of each video's per-second frozen features, for epoch 0 (no model yet) or when asked.
    /// </summary>
    public static async Task<VideoEmbeddings> FromFrozenFeaturesAsync(IVideoStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var ids = store.VideoIds.Order(StringComparer.Ordinal).ToArray();
        if (ids.Length == 0)
        {
            throw new ArgumentException("The store holds no videos to embed.", nameof(store));
        }

        var dim = store.FeatureDim;
        var vectors = new float[checked(ids.Length * dim)];
        for (var i = 0; i < ids.Length; i++)
        {
            var video = await store.GetAsync(ids[i], cancellationToken).ConfigureAwait(false);
            MeanRows(video.VideoId, video.Features, video.FeatureDim, vectors.AsSpan(i * dim, dim));
        }

        return VideoEmbeddings.Create(ids, vectors, dim, new EmbeddingLineage(EmbeddingSources.FrozenFeatures, Epoch: 0));
    }

    /// <summary>The mean of each video's per-second features, read from feature shard files.</summary>
    /// <exception cref="InvalidDataException">A file is not a feature shard, a video appears in two shards, or a video has no features; the message names it.</exception>
    public static async Task<VideoEmbeddings> FromFeatureShardsAsync(IReadOnlyList<string> shardPaths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(shardPaths);
        if (shardPaths.Count == 0)
        {
            throw new ArgumentException("No feature shard files were given.", nameof(shardPaths));
        }

        var ids = new List<string>();
        var vectors = new List<float[]>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var dim = -1;
        foreach (var path in shardPaths)
        {
            var reader = await FeatureShardReader.OpenAsync(path, cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                await foreach (var record in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (!seen.TryAdd(record.VideoId, path))
                    {
                        throw new InvalidDataException($"Video '{record.VideoId}' is in both '{seen[record.VideoId]}' and '{path}'.");
                    }

                    if (dim < 0)
                    {
                        dim = record.Dim;
                    }
                    else if (record.Dim != dim)
                    {
                        throw new InvalidDataException($"Feature shard '{path}': video '{record.VideoId}' has {record.Dim}-d features, earlier videos {dim}-d.");
                    }

                    var mean = new float[dim];
                    MeanRows(record.VideoId, record.Features, dim, mean);
                    ids.Add(record.VideoId);
                    vectors.Add(mean);
                }
            }
        }

        if (ids.Count == 0)
        {
            throw new InvalidDataException($"The {shardPaths.Count} feature shard(s) hold no videos.");
        }

        var all = new float[checked(ids.Count * dim)];
        for (var i = 0; i < vectors.Count; i++)
        {
            vectors[i].CopyTo(all, i * dim);
        }

        return VideoEmbeddings.Create(ids, all, dim, new EmbeddingLineage(EmbeddingSources.FrozenFeatures, Epoch: 0));
    }

    private static float[] Pool(VideoClipModel model, ClipBatch batch, int videos, int clipsPerVideo)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var clips = model.EncodeClips(batch.Caps, batch.Cmasks, batch.Vfeats, batch.Vmasks);
        var perVideo = clips.view(videos, clipsPerVideo, -1).mean([1]);
        return perVideo.cpu().data<float>().ToArray();
    }

    private static void MeanRows(string videoId, float[] features, int dim, Span<float> mean)
    {
        var seconds = features.Length / dim;
        if (seconds == 0 || features.Length % dim != 0)
        {
            throw new InvalidDataException($"Video '{videoId}' has {features.Length} feature values, not a positive number of {dim}-d rows; it has no frozen-feature embedding.");
        }

        var sum = new double[dim];
        for (var s = 0; s < seconds; s++)
        {
            var rowValues = features.AsSpan(s * dim, dim);
            for (var j = 0; j < dim; j++)
            {
                sum[j] += rowValues[j];
            }
        }

        for (var j = 0; j < dim; j++)
        {
            mean[j] = (float)(sum[j] / seconds);
        }
    }

    /// <summary>The checks both entry points make, then the store's video ids in ordinal order (never empty).</summary>
    private static string[] CheckedIds(IVideoStore store, VideoClipModel model, BatchStreamerOptions streamer, int epoch, int videosPerBatch)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(streamer);
        ArgumentOutOfRangeException.ThrowIfLessThan(videosPerBatch, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var ids = store.VideoIds.Order(StringComparer.Ordinal).ToArray();
        if (ids.Length == 0)
        {
            throw new ArgumentException("The store holds no videos to embed.", nameof(store));
        }

        return ids;
    }
}
