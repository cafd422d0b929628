using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Streaming;
using static TorchSharp.torch;

namespace VideoData.Training.Trainer;

/// <summary>
/// What one batch of a rank held, reduced to a fingerprint: enough to prove two runs (or two process counts)
/// fed exactly the same clips without keeping the tensors.
/// </summary>
/// <param name="Epoch">The plan's epoch.</param>
/// <param name="Step">The step within the epoch on this rank (the batch's index in the rank's slice).</param>
/// <param name="PlanBatch">The batch's index in the full plan: <c>Step · WorldSize + Rank</c>.</param>
/// <param name="VideoIds">The batch's videos, in batch order.</param>
/// <param name="Clips">Clips in the batch.</param>
/// <param name="Sha256">Lower-case hex SHA-256 over every clip's video id, span boundaries, <c>caps</c>, <c>cmasks</c>, <c>vfeats</c> and <c>vmasks</c>, in clip order.</param>
internal sealed record BatchDigest(int Epoch, int Step, int PlanBatch, IReadOnlyList<string> VideoIds, int Clips, string Sha256)
{
    /// <summary>The fingerprint of <paramref name="batch"/>, step <paramref name="batch"/>.Step of <paramref name="rank"/>'s slice (copies device tensors to the host).</summary>
    public static BatchDigest Of(ClipBatch batch, TrainingRank rank)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(rank);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<int> bounds = stackalloc int[4];
        for (var clip = 0; clip < batch.ClipCount; clip++)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(batch.VideoIds[clip]));
            hash.AppendData([0]);
            var s = batch.Spans[clip];
            bounds[0] = s.VideoStart;
            bounds[1] = s.VideoEnd;
            bounds[2] = s.TextStart;
            bounds[3] = s.TextEnd;
            hash.AppendData(MemoryMarshal.AsBytes(bounds));
        }

        Append<long>(hash, batch.Caps);
        Append<bool>(hash, batch.Cmasks);
        Append<float>(hash, batch.Vfeats);
        Append<bool>(hash, batch.Vmasks);

        var videos = new List<string>();
        foreach (var id in batch.VideoIds)
        {
            if (videos.Count == 0 || videos[^1] != id)
            {
                videos.Add(id);
            }
        }

        return new BatchDigest(
            batch.Epoch,
            batch.Step,
            (batch.Step * rank.WorldSize) + rank.Rank,
            videos,
            batch.ClipCount,
            Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static void Append<T>(IncrementalHash hash, Tensor tensor)
        where T : unmanaged
    {
        using var host = tensor.device_type == DeviceType.CPU ? tensor.alias() : tensor.cpu();
        using var contiguous = host.contiguous();
        hash.AppendData(MemoryMarshal.AsBytes(contiguous.data<T>().ToArray().AsSpan()));
    }
}

/// <summary>
/// Streams a rank's share of an epoch exactly as training would (same plan slice, clips, tensors and device)
/// without a model: to check a distributed launch's data before spending accelerator time, to measure what
/// one rank's input pipeline sustains, and to prove that ranks together see the single-process batches.
/// External trainers consume the same stream as batches with
/// <c>BatchStreamer.StreamAsync(store, TrainingRank.Resolve(null, null).Rank.Slice(plan), options)</c>.
/// </summary>
internal static class DataRehearsal
{
    /// <summary>
    /// The fingerprints of the batches <paramref name="rank"/> trains on in <paramref name="plan"/> (the full,
    /// all-ranks plan), in step order.
    /// </summary>
    /// <exception cref="ArgumentException">The plan has fewer batches than ranks.</exception>
    public static async IAsyncEnumerable<BatchDigest> StreamAsync(
        IVideoStore store,
        BatchPlan plan,
        TrainingRank rank,
        BatchStreamerOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(rank);
        ArgumentNullException.ThrowIfNull(options);
        var slice = rank.Slice(plan);
        await foreach (var batch in BatchStreamer.StreamAsync(store, slice, options, 0, cancellationToken).ConfigureAwait(false))
        {
            using (batch)
            {
                yield return BatchDigest.Of(batch, rank);
            }
        }
    }
}
