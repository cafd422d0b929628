using VideoData.Training.Sampling;
using static TorchSharp.torch;

namespace VideoData.Training.Streaming;

/// <summary>How the batch streamer assembles and prefetches batches. Validated when a stream starts.</summary>
public sealed record BatchStreamerOptions
{
    /// <summary>The clip sampler's parameters.</summary>
    public ClipSamplerOptions Sampler { get; init; } = new();

    /// <summary>Batches assembled concurrently (each by its own task). Default 2.</summary>
    public int Assemblers { get; init; } = 2;

    /// <summary>Batches the stream keeps ready (or in flight) ahead of the consumer. Default 4.</summary>
    public int PrefetchDepth { get; init; } = 4;

    /// <summary>
    /// Where the tensors go. <c>null</c> means the CPU. On a CUDA device the host tensors are pinned and
    /// copied asynchronously.
    /// </summary>
    public Device? Device { get; init; }

    /// <summary>How video spans relate to text spans (pretraining uses <see cref="ClipAlignment.Overlapped"/>).</summary>
    public ClipAlignment Alignment { get; init; } = ClipAlignment.Overlapped;

    /// <summary>
    /// Token dropout: the fraction of each clip's video seconds dropped at assembly, in [0, 1) (0, the default: none).
    /// With p &gt; 0 a batch's <see cref="ClipBatch.Vfeats"/> is <c>[N, max(1, T − ⌊p·T⌋), FeatureDim]</c> (T = MaxVideoTokens)
    /// and <see cref="ClipBatch.Vpositions"/> holds each kept second's position (see <see cref="TokenDropout"/>).
    /// </summary>
    public double TokenDropout { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public BatchStreamerOptions Validate()
    {
        ArgumentNullException.ThrowIfNull(Sampler);
        Sampler.Validate();
        if (Assemblers < 1)
        {
            throw new ArgumentException($"Batch streamer option {nameof(Assemblers)} = {Assemblers} must be at least 1.", nameof(Assemblers));
        }

        if (PrefetchDepth < 1)
        {
            throw new ArgumentException($"Batch streamer option {nameof(PrefetchDepth)} = {PrefetchDepth} must be at least 1.", nameof(PrefetchDepth));
        }

        if (!(TokenDropout is >= 0 and < 1))
        {
            throw new ArgumentException($"Batch streamer option token_dropout = {TokenDropout} must be in [0, 1): at least one second of every clip is kept.", nameof(TokenDropout));
        }

        return this;
    }
}
