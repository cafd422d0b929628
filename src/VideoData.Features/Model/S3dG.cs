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

    public override (Tensor Embedding, Tensor Mixed5c) forward(Tensor input)
    {
        // Each activation is freed as soon as the next one exists (the caller's dispose scope would otherwise keep
        // every layer's output alive until the end of the batch: ~2.5x the peak memory of PyTorch's eager frees).
        var x = SpaceToDepth(input);
        x = Then(x, conv1.forward);
        x = Then(x, t => t[.., .., 1.., 1.., 1..]);
        x = Then(x, maxpool_2a.forward);
        x = Then(x, conv_2b.forward);
        x = Then(x, conv_2c.forward);
        x = Then(x, gating.forward);
        x = Then(x, maxpool_3a.forward);
        x = Then(x, mixed_3b.forward);
        x = Then(x, mixed_3c.forward);
        x = Then(x, maxpool_4a.forward);
        x = Then(x, mixed_4b.forward);
        x = Then(x, mixed_4c.forward);
        x = Then(x, mixed_4d.forward);
        x = Then(x, mixed_4e.forward);
        x = Then(x, mixed_4f.forward);
        x = Then(x, maxpool_5a.forward);
        x = Then(x, mixed_5b.forward);
        x = Then(x, mixed_5c.forward);
        var pooled = Then(x, t => t.mean([2, 3, 4]));
        return (fc.forward(pooled), pooled);
    }

    /// <summary>Applies <paramref name="step"/> and disposes its input (a view's storage lives on in the view).</summary>
    private static Tensor Then(Tensor x, Func<Tensor, Tensor> step)
    {
        var y = step(x);
        if (!ReferenceEquals(x, y))
        {
            x.Dispose();
        }

        return y;
    }

    /// <summary>B×3×T×H×W → B×24×T/2×H/2×W/2, the (t, h, w) phase of each 2×2×2 cell leading the channels.</summary>
    private static Tensor SpaceToDepth(Tensor x)
    {
        var (b, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4]);
        if (t % 2 != 0 || h % 2 != 0 || w % 2 != 0)
        {
            throw new ArgumentException($"S3D-G needs even T, H, W; got {t}×{h}×{w}.", nameof(x));
        }

        return x.view(b, c, t / 2, 2, h / 2, 2, w / 2, 2)
            .permute(0, 3, 5, 7, 1, 2, 4, 6)
            .reshape(b, 8 * c, t / 2, h / 2, w / 2);
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

        public override Tensor forward(Tensor x)
        {
            using var convolved = conv1.forward(x);
            return F.relu(bn1.forward(convolved), inplace: true);
        }
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
            using var first = conv1.forward(x);
            using var spatial = F.relu(bn1.forward(first), inplace: true);
            using var second = conv2.forward(spatial);
            return F.relu(bn2.forward(second), inplace: true);
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
            using var gate = fc.forward(x.mean([2, 3, 4])).sigmoid_();
            return x.mul(gate.view(gate.shape[0], gate.shape[1], 1, 1, 1));
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
            var y0 = gating_b0.forward(conv_b0.forward(x));
            var y1 = gating_b1.forward(conv_b1_b.forward(conv_b1_a.forward(x)));
            var y2 = gating_b2.forward(conv_b2_b.forward(conv_b2_a.forward(x)));
            var y3 = gating_b3.forward(conv_b3_b.forward(F.max_pool3d(x, [3, 3, 3], [1, 1, 1], [1, 1, 1])));
            return cat([y0, y1, y2, y3], 1).MoveToOuterDisposeScope();
        }
    }
}
