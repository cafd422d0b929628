using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace VideoData.Training.Distributed;

/// <summary>
/// Averages the gradients of a model's parameters (and one extra value, the loss) over the ranks of an
/// <see cref="ICollective"/>, bucket by bucket: the gradients, taken in parameter order as one virtual flat vector,
/// are copied into a fixed host buffer of <see cref="BucketFloats"/> floats, each full bucket is summed across the
/// ranks and copied back, divided by the world size. Memory beyond the gradients is one bucket, whatever the model
/// size (the exchange it replaces copied every gradient into one array, twice). A NCCL implementation would
/// reduce device buckets in place instead of staging them here; that is where it slots in.
/// Invariant: every rank passes the same parameters in the same order (same model), so the buckets line up; the
/// sums are then the same bytes on every rank when the MPI library reduces deterministically (Open MPI's
/// algorithms do for a fixed world size); <see cref="WeightDigest"/> checks it.
/// </summary>
internal sealed class GradientBuckets
{
    /// <summary>
    /// Default bucket size: 32 MiB (8 Mi floats). Large enough that each MPI call's fixed cost is a few percent of
    /// its transfer even between nodes (see the measurement in src/VideoData.Training/Distributed/README.md), small
    /// enough that the staging buffer stays a small fraction of a reference-size model's ~600 MB of gradients (19 buckets).
    /// PyTorch DDP's default, 25 MiB, is of the same order for the same reasons.
    /// </summary>
    public const long DefaultBucketBytes = 32L << 20;

    private readonly ICollective _collective;
    private readonly IReadOnlyList<TorchSharp.Modules.Parameter> _parameters;
    private readonly float[] _bucket;
    private readonly List<(int Parameter, long Offset, int At, int Count)> _pending = [];

    public GradientBuckets(ICollective collective, IReadOnlyList<TorchSharp.Modules.Parameter> parameters, long bucketBytes)
    {
        ArgumentNullException.ThrowIfNull(collective);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketBytes, sizeof(float));
        _collective = collective;
        _parameters = parameters;
        var total = parameters.Sum(p => p.numel()) + 1;
        BucketFloats = (int)Math.Min(Math.Min(bucketBytes / sizeof(float), total), Array.MaxLength);
        _bucket = GC.AllocateUninitializedArray<float>(BucketFloats, pinned: true);
    }

    /// <summary>Floats per bucket (the last one may be shorter).</summary>
    public int BucketFloats { get; }

    /// <summary>Buckets the last <see cref="Average"/> reduced.</summary>
    public int LastBuckets { get; private set; }

    /// <summary>
    /// Replaces every parameter's gradient with its mean over the ranks (a parameter without a gradient counts as
    /// zeros and gets one) and returns the mean of <paramref name="value"/>. Time spent inside the collective is added
    /// to <paramref name="reduceTime"/>.
    /// </summary>
    public float Average(float value, ref TimeSpan reduceTime)
    {
        var world = (float)_collective.WorldSize;
        var used = 0;
        var buckets = 0;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // A view of the pinned host buffer: packing and unpacking are tensor copies, the collective reads the array.
        var view = frombuffer(_bucket, ScalarType.Float32, BucketFloats, 0);
        for (var index = 0; index < _parameters.Count; index++)
        {
            var parameter = _parameters[index];
            // A parameter without a gradient (unused this step) contributes zeros and keeps no gradient, as the optimizer expects.
            var gradient = parameter.grad;
            if (gradient is not null && !gradient.is_contiguous())
            {
                throw new InvalidOperationException($"The gradient of parameter {index} is not contiguous; the bucketed all-reduce writes gradients back through flat views.");
            }

            var flat = gradient?.detach().reshape(-1);
            var length = parameter.numel();
            for (long offset = 0; offset < length;)
            {
                if (used == BucketFloats)
                {
                    Flush(view, used, world, ref reduceTime);
                    buckets++;
                    used = 0;
                }

                var count = (int)Math.Min(BucketFloats - used, length - offset);
                if (flat is null)
                {
                    _bucket.AsSpan(used, count).Clear();
                }
                else
                {
                    view.narrow(0, used, count).copy_(flat.narrow(0, offset, count));
                    _pending.Add((index, offset, used, count));
                }

                used += count;
                offset += count;
            }
        }

        if (used == BucketFloats)
        {
            Flush(view, used, world, ref reduceTime);
            buckets++;
            used = 0;
        }

        _bucket[used++] = value;
        Flush(view, used, world, ref reduceTime);
        LastBuckets = buckets + 1;
        return _bucket[used - 1] / world;
    }

    private void Flush(Tensor view, int used, float world, ref TimeSpan reduceTime)
    {
        var clock = Stopwatch.StartNew();
        _collective.AllReduceSum(_bucket.AsSpan(0, used));
        reduceTime += clock.Elapsed;
        using var divisor = world.ToScalar();
        foreach (var (index, offset, at, count) in _pending)
        {
            var flat = _parameters[index].grad!.detach().reshape(-1);
            flat.narrow(0, offset, count).copy_(view.narrow(0, at, count).div(divisor));
        }

        _pending.Clear();
    }
}
