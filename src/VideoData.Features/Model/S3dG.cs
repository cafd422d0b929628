using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace VideoData.Features.Model;

/// <summary>
/// S3D-G as in MIL-NCE (HowTo100M), video tower only. Module and parameter names are those of the
/// published <c>s3d_howto100m.pth</c> state dict (see testdata/s3d/README.md). Input B×3×T×H×W in
/// [0,1] with T, H, W even; output the 512-d <c>video_embedding</c> and the mean-pooled 1024-d
/// <c>mixed_5c</c>.
/// </summary>
// Field names are the state-dict keys of the published checkpoint: RegisterComponents names modules after them.
#pragma warning disable IDE1006
internal sealed class S3dG : nn.Module<Tensor, (Tensor Embedding, Tensor Mixed5c)>
{
    private readonly ConvBn conv1;
    private readonly TfSameMaxPool maxpool_2a = new((1, 3, 3), (1, 2, 2));
    private readonly ConvBn conv_2b;
    private readonly SeparableConvBn conv_2c;
    private readonly SelfGating gating;
    private readonly TfSameMaxPool maxpool_3a = new((1, 3, 3), (1, 2, 2));
    private readonly Inception mixed_3b;
    private readonly Inception mixed_3c;
    private readonly TfSameMaxPool maxpool_4a = new((3, 3, 3), (2, 2, 2));
    private readonly Inception mixed_4b;
    private readonly Inception mixed_4c;
    private readonly Inception mixed_4d;
    private readonly Inception mixed_4e;
    private readonly Inception mixed_4f;
    private readonly TfSameMaxPool maxpool_5a = new((2, 2, 2), (2, 2, 2));
    private readonly Inception mixed_5b;
    private readonly Inception mixed_5c;
    private readonly Linear fc;

    public S3dG()
        : base("S3dG")
    {
        conv1 = new ConvBn(24, 64, (2, 4, 4), (1, 2, 2));
        conv_2b = new ConvBn(64, 64, (1, 1, 1), (0, 0, 0));
        conv_2c = new SeparableConvBn(64, 192);
        gating = new SelfGating(192);
        mixed_3b = new Inception(192, 64, 96, 128, 16, 32, 32);
        mixed_3c = new Inception(256, 128, 128, 192, 32, 96, 64);
        mixed_4b = new Inception(480, 192, 96, 208, 16, 48, 64);
        mixed_4c = new Inception(512, 160, 112, 224, 24, 64, 64);
        mixed_4d = new Inception(512, 128, 128, 256, 24, 64, 64);
        mixed_4e = new Inception(512, 112, 144, 288, 32, 64, 64);
        mixed_4f = new Inception(528, 256, 160, 320, 32, 128, 128);
        mixed_5b = new Inception(832, 256, 160, 320, 32, 128, 128);
        mixed_5c = new Inception(832, 384, 192, 384, 48, 128, 128);
        fc = nn.Linear(1024, 512);
        RegisterComponents();
    }

    public const int EmbeddingDim = 512;

    public const int Mixed5cDim = 1024;

    /// <summary>
    /// Batch items that go through the stem, conv1 to maxpool_3a, at a time. The stem's activations are the network's
    /// largest by far (conv1's output alone is 52 MB a second of 30×224×224 video, and the convolution library holds
    /// reordered copies of its input and output); running it one item at a time keeps a batch's peak memory close to
    /// that of one item, at no cost in arithmetic (every item of a batch is convolved independently).
    /// </summary>
    private const int StemItems = 1;

    /// <summary>
    /// On the CPU, batch items that go through the whole network at a time: past a couple of items a CPU gains nothing
    /// from batching (each convolution already has thousands of output positions per item) while the memory of the later
    /// layers grows with it. On a GPU the whole batch goes through the rest of the network at once.
    /// </summary>
    private const int CpuPassItems = 2;

    public override (Tensor Embedding, Tensor Mixed5c) forward(Tensor input) =>
        InPasses(input.shape[0], input.device_type, CancellationToken.None, (first, count) =>
        {
            using var part = input.narrow(0, first, count);
            return SpaceToDepth(part, ChannelsLast(input.device_type));
        });

    /// <summary>
    /// The same network from uint8 frames [B, T, H, W, 3] (as decoded: frame-major RGB, values 0–255), converted to
    /// <paramref name="dtype"/> in [0, 1] one item at a time inside the stem, so the float input of the whole batch
    /// never exists at once. Equal to <see cref="forward"/> of the B×3×T×H×W float input. <paramref name="cancellationToken"/>
    /// is checked between layers, so a stop request does not wait for the rest of a batch.
    /// </summary>
    public (Tensor Embedding, Tensor Mixed5c) ForwardFrames(Tensor frames, ScalarType dtype, CancellationToken cancellationToken = default) =>
        InPasses(frames.shape[0], frames.device_type, cancellationToken, (first, count) =>
        {
            using var part = frames.narrow(0, first, count);
            return PackFrames(part, dtype, ChannelsLast(frames.device_type));
        });

    /// <summary>
    /// Whether the network's input (and so, as every layer keeps its input's layout, every activation) is laid out
    /// channels-last (NDHWC strides behind the usual N×C×T×H×W shape). On the CPU oneDNN's 3-D convolutions then run
    /// without reordering each activation to and from their blocked layout: about 2.1× the throughput of the
    /// channels-first layout on this project's 2-core benchmark machine, same results to float rounding. CUDA keeps the
    /// channels-first layout, which is the one that has been reasoned about there (no GPU run has measured either).
    /// </summary>
    private static bool ChannelsLast(DeviceType device) => device == DeviceType.CPU;

    /// <summary>Runs the network over <paramref name="items"/> batch items in passes; <paramref name="packed"/> gives the space-to-depth input of a range.</summary>
    private (Tensor Embedding, Tensor Mixed5c) InPasses(long items, DeviceType device, CancellationToken cancellationToken, Func<long, long, Tensor> packed)
    {
        var pass = device == DeviceType.CPU ? CpuPassItems : items;
        if (items <= pass)
        {
            return Head(Stem(0, items, packed, cancellationToken), cancellationToken);
        }

        var embeddings = new List<Tensor>();
        var pooled = new List<Tensor>();
        try
        {
            for (long first = 0; first < items; first += pass)
            {
                var (embedding, mixed) = Head(Stem(first, Math.Min(pass, items - first), packed, cancellationToken), cancellationToken);
                embeddings.Add(embedding);
                pooled.Add(mixed);
            }

            return (cat(embeddings, 0), cat(pooled, 0));
        }
        finally
        {
            foreach (var tensor in embeddings.Concat(pooled))
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>
    /// Packs uint8 frames [B, T, H, W, 3] straight into the space-to-depth layout [B, 24, T/2, H/2, W/2] of
    /// <paramref name="dtype"/> in [0, 1]: the tensor <see cref="SpaceToDepth"/> makes from the B×3×T×H×W float input.
    /// </summary>
    private static Tensor PackFrames(Tensor frames, ScalarType dtype, bool channelsLast)
    {
        var (b, t, h, w, c) = (frames.shape[0], frames.shape[1], frames.shape[2], frames.shape[3], frames.shape[4]);
        if (t % 2 != 0 || h % 2 != 0 || w % 2 != 0)
        {
            throw new ArgumentException($"S3D-G needs even T, H, W; got {t}×{h}×{w}.", nameof(frames));
        }

        // Channels in the order SpaceToDepth gives, (pt, ph, pw, c). Channels-last: (b, t, pt, h, ph, w, pw, c) →
        // (b, t, h, w, pt, ph, pw, c) in memory, seen as (b, C, t, h, w); channels-first: → (b, pt, ph, pw, c, t, h, w).
        using var cells = frames.view(b, t / 2, 2, h / 2, 2, w / 2, 2, c);
        using var packed = channelsLast
            ? cells.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(b, t / 2, h / 2, w / 2, 8 * c).permute(0, 4, 1, 2, 3)
            : cells.permute(0, 2, 4, 6, 7, 1, 3, 5).reshape(b, 8 * c, t / 2, h / 2, w / 2);
        // Scalars held until the call returns: a temporary one's finalizer may free it while libtorch reads it.
        using var full = 255.0.ToScalar();
        return packed.to_type(dtype).div_(full);
    }

    /// <summary>Runs conv1 … maxpool_3a over items [<paramref name="start"/>, +<paramref name="items"/>), <see cref="StemItems"/> at a time.</summary>
    private Tensor Stem(long start, long items, Func<long, long, Tensor> packed, CancellationToken cancellationToken)
    {
        var parts = new List<Tensor>();
        try
        {
            for (var first = start; first < start + items; first += StemItems)
            {
                // Each activation is freed as soon as the next one exists (the caller's dispose scope would otherwise
                // keep every layer's output alive until the end of the batch).
                var x = Then(packed(first, Math.Min(StemItems, start + items - first)), conv1.forward, cancellationToken);
                x = Then(x, t => t[.., .., 1.., 1.., 1..], cancellationToken);
                x = Then(x, maxpool_2a.forward, cancellationToken);
                x = Then(x, conv_2b.forward, cancellationToken);
                x = Then(x, conv_2c.forward, cancellationToken);
                x = Then(x, gating.forward, cancellationToken);
                parts.Add(Then(x, maxpool_3a.forward, cancellationToken));
            }

            return parts.Count == 1 ? parts[0] : cat(parts, 0);
        }
        finally
        {
            if (parts.Count > 1)
            {
                foreach (var part in parts)
                {
                    part.Dispose();
                }
            }
        }
    }

    /// <summary>mixed_3b … fc; takes ownership of <paramref name="x"/>.</summary>
    private (Tensor Embedding, Tensor Mixed5c) Head(Tensor x, CancellationToken cancellationToken)
    {
        x = Then(x, mixed_3b.forward, cancellationToken);
        x = Then(x, mixed_3c.forward, cancellationToken);
        x = Then(x, maxpool_4a.forward, cancellationToken);
        x = Then(x, mixed_4b.forward, cancellationToken);
        x = Then(x, mixed_4c.forward, cancellationToken);
        x = Then(x, mixed_4d.forward, cancellationToken);
        x = Then(x, mixed_4e.forward, cancellationToken);
        x = Then(x, mixed_4f.forward, cancellationToken);
        x = Then(x, maxpool_5a.forward, cancellationToken);
        x = Then(x, mixed_5b.forward, cancellationToken);
        x = Then(x, mixed_5c.forward, cancellationToken);
        var pooled = Then(x, t => t.mean([2, 3, 4]), cancellationToken);
        return (fc.forward(pooled), pooled);
    }

    /// <summary>
    /// BatchNorm then ReLU on <paramref name="x"/>, which the caller hands over. In eval mode the normalisation is
    /// applied in place as the per-channel affine eval-mode BatchNorm is (x·γ/√(σ²+ε) + β − μ·γ/√(σ²+ε)), so no second
    /// activation-sized tensor is allocated; in training mode it is the module's own forward.
    /// </summary>
    private static Tensor BatchNormRelu(BatchNorm3d bn, Tensor x)
    {
        if (bn.training)
        {
            using (x)
            {
                return F.relu(bn.forward(x), inplace: true);
            }
        }

        using var eps = bn.eps.ToScalar();
        using var scale = bn.weight!.mul(bn.running_var!.add(eps).rsqrt_());
        using var shift = bn.bias!.sub(bn.running_mean!.mul(scale));
        var shape = new long[] { 1, scale.shape[0], 1, 1, 1 };
        using var scaleView = scale.view(shape);
        using var shiftView = shift.view(shape);
        return x.mul_(scaleView).add_(shiftView).relu_();
    }

    /// <summary>Applies <paramref name="step"/> and disposes its input (a view's storage lives on in the view).</summary>
    private static Tensor Then(Tensor x, Func<Tensor, Tensor> step, CancellationToken cancellationToken = default)
    {
        // A stop request ends the forward between layers; what exists so far belongs to the caller's dispose scope.
        cancellationToken.ThrowIfCancellationRequested();
        var y = step(x);
        if (!ReferenceEquals(x, y))
        {
            x.Dispose();
        }

        return y;
    }

    /// <summary>
    /// B×3×T×H×W → B×24×T/2×H/2×W/2, the (t, h, w) phase of each 2×2×2 cell leading the channels; laid out
    /// channels-last in memory when <paramref name="channelsLast"/>.
    /// </summary>
    private static Tensor SpaceToDepth(Tensor x, bool channelsLast)
    {
        var (b, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4]);
        if (t % 2 != 0 || h % 2 != 0 || w % 2 != 0)
        {
            throw new ArgumentException($"S3D-G needs even T, H, W; got {t}×{h}×{w}.", nameof(x));
        }

        using var cells = x.view(b, c, t / 2, 2, h / 2, 2, w / 2, 2);
        return channelsLast
            ? cells.permute(0, 2, 4, 6, 3, 5, 7, 1).reshape(b, t / 2, h / 2, w / 2, 8 * c).permute(0, 4, 1, 2, 3)
            : cells.permute(0, 3, 5, 7, 1, 2, 4, 6).reshape(b, 8 * c, t / 2, h / 2, w / 2);
    }

    /// <summary>Bias-free conv → BatchNorm → ReLU (<c>conv1</c>, <c>bn1</c>).</summary>
    private sealed class ConvBn : nn.Module<Tensor, Tensor>
    {
        private readonly Conv3d conv1;
        private readonly BatchNorm3d bn1;

        public ConvBn(long input, long output, (long, long, long) kernel, (long, long, long) padding)
            : base("ConvBn")
        {
            conv1 = nn.Conv3d(input, output, kernel, stride: (1, 1, 1), padding: padding, bias: false);
            bn1 = nn.BatchNorm3d(output, eps: 1e-5);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => BatchNormRelu(bn1, conv1.forward(x));
    }

    /// <summary>(1,3,3) conv → BN → ReLU → (3,1,1) conv → BN → ReLU (<c>conv1/bn1/conv2/bn2</c>).</summary>
    private sealed class SeparableConvBn : nn.Module<Tensor, Tensor>
    {
        private readonly Conv3d conv1;
        private readonly BatchNorm3d bn1;
        private readonly Conv3d conv2;
        private readonly BatchNorm3d bn2;

        public SeparableConvBn(long input, long output)
            : base("SeparableConvBn")
        {
            conv1 = nn.Conv3d(input, output, (1, 3, 3), stride: (1, 1, 1), padding: (0, 1, 1), bias: false);
            bn1 = nn.BatchNorm3d(output, eps: 1e-5);
            conv2 = nn.Conv3d(output, output, (3, 1, 1), stride: (1, 1, 1), padding: (1, 0, 0), bias: false);
            bn2 = nn.BatchNorm3d(output, eps: 1e-5);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var spatial = BatchNormRelu(bn1, conv1.forward(x));
            return BatchNormRelu(bn2, conv2.forward(spatial));
        }
    }

    /// <summary>x · sigmoid(fc(mean of x over T, H, W)), broadcast over T, H, W.</summary>
    private sealed class SelfGating : nn.Module<Tensor, Tensor>
    {
        private readonly Linear fc;

        public SelfGating(long channels)
            : base("SelfGating")
        {
            fc = nn.Linear(channels, channels);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var mean = x.mean([2, 3, 4]);
            using var gate = fc.forward(mean).sigmoid_();
            using var broadcast = gate.view(gate.shape[0], gate.shape[1], 1, 1, 1);

            // Frozen (eval) use gates the activation in place: the callers own x and never read it again.
            return training ? x.mul(broadcast) : x.mul_(broadcast);
        }
    }

    /// <summary>Zero padding as TensorFlow's SAME (total max(k − s, 0), the odd pixel after), then max pool with ceil mode.</summary>
    private sealed class TfSameMaxPool : nn.Module<Tensor, Tensor>
    {
        private readonly long[] _kernel;
        private readonly long[] _stride;
        private readonly long[] _pad;

        public TfSameMaxPool((long T, long H, long W) kernel, (long T, long H, long W) stride)
            : base("TfSameMaxPool")
        {
            _kernel = [kernel.T, kernel.H, kernel.W];
            _stride = [stride.T, stride.H, stride.W];

            // F.pad lists the last dimension first: (W before, W after, H before, H after, T before, T after).
            _pad = new long[6];
            for (var d = 0; d < 3; d++)
            {
                var total = Math.Max(_kernel[d] - _stride[d], 0);
                var slot = (2 - d) * 2;
                _pad[slot] = total / 2;
                _pad[slot + 1] = total - (total / 2);
            }
        }

        public override Tensor forward(Tensor x)
        {
            using var padded = F.pad(x, _pad, PaddingModes.Constant, 0);
            return F.max_pool3d(padded, _kernel, _stride, ceil_mode: true);
        }
    }

    /// <summary>Four self-gated branches concatenated on channels (see the README's table).</summary>
    private sealed class Inception : nn.Module<Tensor, Tensor>
    {
        private readonly ConvBn conv_b0;
        private readonly ConvBn conv_b1_a;
        private readonly SeparableConvBn conv_b1_b;
        private readonly ConvBn conv_b2_a;
        private readonly SeparableConvBn conv_b2_b;
        private readonly ConvBn conv_b3_b;
        private readonly SelfGating gating_b0;
        private readonly SelfGating gating_b1;
        private readonly SelfGating gating_b2;
        private readonly SelfGating gating_b3;

        public Inception(long input, long b0, long b1a, long b1b, long b2a, long b2b, long b3)
            : base("Inception")
        {
            conv_b0 = new ConvBn(input, b0, (1, 1, 1), (0, 0, 0));
            conv_b1_a = new ConvBn(input, b1a, (1, 1, 1), (0, 0, 0));
            conv_b1_b = new SeparableConvBn(b1a, b1b);
            conv_b2_a = new ConvBn(input, b2a, (1, 1, 1), (0, 0, 0));
            conv_b2_b = new SeparableConvBn(b2a, b2b);
            conv_b3_b = new ConvBn(input, b3, (1, 1, 1), (0, 0, 0));
            gating_b0 = new SelfGating(b0);
            gating_b1 = new SelfGating(b1b);
            gating_b2 = new SelfGating(b2b);
            gating_b3 = new SelfGating(b3);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();

            // Each branch's intermediate is freed as soon as the branch moves past it; only the four outputs live to the cat.
            var y0 = gating_b0.forward(conv_b0.forward(x));
            Tensor y1, y2, y3;
            using (var reduced = conv_b1_a.forward(x))
            {
                y1 = gating_b1.forward(conv_b1_b.forward(reduced));
            }

            using (var reduced = conv_b2_a.forward(x))
            {
                y2 = gating_b2.forward(conv_b2_b.forward(reduced));
            }

            using (var pooled = F.max_pool3d(x, [3, 3, 3], [1, 1, 1], [1, 1, 1]))
            {
                y3 = gating_b3.forward(conv_b3_b.forward(pooled));
            }

            return cat([y0, y1, y2, y3], 1).MoveToOuterDisposeScope();
        }
    }
}
