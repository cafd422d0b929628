using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VideoData.Training.Model;

/// <summary>
/// A VideoCLIP-shaped two-tower model (DESIGN §3). Video: each feature row goes through
/// Linear(FeatureDim→Hidden) · GELU · LayerNorm · Linear(Hidden→Hidden), the tokens are framed as
/// [CLS] video… [SEP] with learned position embeddings and run through a transformer; the pooled vector is
/// the masked mean over the video tokens and the [SEP] (not [CLS]). Text: a BERT-shaped encoder over
/// <c>[CLS] text [SEP]</c> (the caption without the video-side [SEP] at position 1); pooled is the masked
/// mean over the text tokens after [CLS]. Not thread-safe; one model per trainer.
/// </summary>
internal sealed class VideoClipModel : Module
{
    private readonly Sequential videoProjection;
    private readonly Embedding videoSpecial;
    private readonly Embedding videoPositions;
    private readonly LayerNorm videoEmbeddingNorm;
    private readonly Dropout videoDropout;
    private readonly TransformerEncoder videoEncoder;
    private readonly Embedding words;
    private readonly Embedding textPositions;
    private readonly LayerNorm textEmbeddingNorm;
    private readonly Dropout textDropout;
    private readonly TransformerEncoder textEncoder;

    /// <summary>Builds the model with fresh weights drawn from libtorch's global generator (seed it first for reproducible weights).</summary>
    public VideoClipModel(VideoClipModelOptions options)
        : base(nameof(VideoClipModel))
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Validate();
        var h = options.Hidden;
        videoProjection = Sequential(
            ("fc1", Linear(options.FeatureDim, h)),
            ("gelu", GELU()),
            ("norm", LayerNorm(h)),
            ("fc2", Linear(h, h)));
        videoSpecial = Embedding(2, h);
        videoPositions = Embedding(options.MaxVideoTokens + 2, h);
        videoEmbeddingNorm = LayerNorm(h, eps: 1e-12);
        videoDropout = Dropout(options.Dropout);
        videoEncoder = TransformerEncoder(TransformerEncoderLayer(h, options.Heads, options.FeedForward, options.Dropout, Activations.GELU), options.VideoLayers);

        words = Embedding(options.VocabularySize, h, padding_idx: 0);
        textPositions = Embedding(options.MaxCaptionLength, h);
        textEmbeddingNorm = LayerNorm(h, eps: 1e-12);
        textDropout = Dropout(options.Dropout);
        textEncoder = TransformerEncoder(TransformerEncoderLayer(h, options.Heads, options.FeedForward, options.Dropout, Activations.GELU), options.TextLayers);
        RegisterComponents();
    }

    /// <summary>The validated sizes.</summary>
    public VideoClipModelOptions Options { get; }

    /// <summary>
    /// Pooled video vectors <c>[N, Hidden]</c> for <paramref name="vfeats"/> <c>[N, T, FeatureDim]</c> and
    /// <paramref name="vmasks"/> <c>[N, T]</c> (bool), T ≤ MaxVideoTokens. Call under <c>torch.no_grad()</c>
    /// and after <c>eval()</c> for inference.
    /// </summary>
    /// <param name="vfeats">Feature rows <c>[N, T, FeatureDim]</c>.</param>
    /// <param name="vmasks">True on real rows, <c>[N, T]</c>; the encoder attends to those only.</param>
    /// <param name="vpositions">
    /// Token dropout: each row's position in its clip, <c>[N, T]</c> int64 (below MaxVideoTokens), so kept seconds keep
    /// their place; the [SEP] then takes position MaxVideoTokens + 1, where it sits in an undropped clip of full width.
    /// Null: row i is position i.
    /// </param>
    public Tensor EncodeVideo(Tensor vfeats, Tensor vmasks, Tensor? vpositions = null)
    {
        ArgumentNullException.ThrowIfNull(vfeats);
        ArgumentNullException.ThrowIfNull(vmasks);
        using var scope = NewDisposeScope();
        var n = vfeats.shape[0];
        var t = vfeats.shape[1];
        var tokens = videoProjection.call(vfeats);
        var cls = videoSpecial.call(zeros([n, 1], ScalarType.Int64, vfeats.device));
        var sep = videoSpecial.call(ones([n, 1], ScalarType.Int64, vfeats.device));
        var sequence = cat([cls, tokens, sep], 1);
        using var one = 1.ToScalar();
        var positions = vpositions is null
            ? arange(t + 2, ScalarType.Int64, vfeats.device).unsqueeze(0)
            : cat(
                [
                    zeros([n, 1], ScalarType.Int64, vfeats.device),
                    vpositions.to_type(ScalarType.Int64) + one,
                    full([n, 1], Options.MaxVideoTokens + 1, ScalarType.Int64, vfeats.device),
                ],
                1);
        sequence = videoDropout.call(videoEmbeddingNorm.call(sequence + videoPositions.call(positions)));

        var always = ones([n, 1], ScalarType.Bool, vfeats.device);
        var attend = cat([always, vmasks, always], 1);
        var hidden = Encode(videoEncoder, sequence, attend);
        var pooled = MaskedMean(hidden.narrow(1, 1, t + 1), attend.narrow(1, 1, t + 1));
        return pooled.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Pooled text vectors <c>[N, Hidden]</c> for captions <paramref name="caps"/> <c>[N, L]</c> (int64, laid out
    /// [CLS] [SEP] text [SEP] [PAD]…) and <paramref name="cmasks"/> <c>[N, L]</c> (bool).
    /// </summary>
    public Tensor EncodeText(Tensor caps, Tensor cmasks)
    {
        ArgumentNullException.ThrowIfNull(caps);
        ArgumentNullException.ThrowIfNull(cmasks);
        using var scope = NewDisposeScope();
        var l = caps.shape[1];
        // Drop position 1, the [SEP] that separates the video in the reference's joint layout.
        var ids = cat([caps.narrow(1, 0, 1), caps.narrow(1, 2, l - 2)], 1);
        var attend = cat([cmasks.narrow(1, 0, 1), cmasks.narrow(1, 2, l - 2)], 1);
        var positions = arange(l - 1, ScalarType.Int64, caps.device).unsqueeze(0);
        var sequence = textDropout.call(textEmbeddingNorm.call(words.call(ids) + textPositions.call(positions)));
        var hidden = Encode(textEncoder, sequence, attend);
        var pooled = MaskedMean(hidden.narrow(1, 1, l - 2), attend.narrow(1, 1, l - 2));
        return pooled.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The per-clip embedding the retrieval-augmented planner uses: (pooled video + pooled text) / 2, <c>[N, Hidden]</c>.
    /// </summary>
    public Tensor EncodeClips(Tensor caps, Tensor cmasks, Tensor vfeats, Tensor vmasks)
    {
        using var scope = NewDisposeScope();
        // Scalars held until the call returns: a temporary one's finalizer may free it while libtorch reads it.
        using var two = 2.ToScalar();
        var joint = (EncodeVideo(vfeats, vmasks) + EncodeText(caps, cmasks)).div_(two);
        return joint.MoveToOuterDisposeScope();
    }

    private static Tensor Encode(TransformerEncoder encoder, Tensor sequence, Tensor attend)
    {
        // TorchSharp's encoder is sequence-first and its padding mask is true where attention is NOT allowed.
        var padding = attend.logical_not();
        return encoder.call(sequence.transpose(0, 1), null, padding).transpose(0, 1);
    }

    private static Tensor MaskedMean(Tensor hidden, Tensor mask)
    {
        var weights = mask.to_type(hidden.dtype).unsqueeze(-1);
        using var one = 1.0.ToScalar();
        return (hidden * weights).sum(1) / weights.sum(1).clamp_min(one);
    }
}
