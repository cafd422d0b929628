using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VideoData.Training.Trainer;

/// <summary>
/// Adam exactly as <c>torch.optim.Adam</c> computes it without amsgrad (L2 weight decay added to the gradient,
/// bias-corrected first and second moments, <c>ε</c> added after the square root), and as TorchSharp's
/// <c>optim.Adam</c> does step for step, so weights agree bit for bit with it.
/// </summary>
/// <remarks>
/// It exists because TorchSharp's optimizers pass their coefficients as temporary <see cref="Scalar"/>s: a
/// <see cref="Scalar"/> owns a native value freed by its finalizer, and nothing keeps the temporary reachable while
/// libtorch reads it, so a garbage collection started by another thread during the call (the batch streamer's
/// assemblers allocate all the time) can free it mid-call. libtorch then reads freed memory; CI saw it fail in
/// <c>addcmul_</c> with "Expected false to be true" from <c>Scalar::toFloat</c>. Here every <see cref="Scalar"/> is a
/// field of this object or held by a <c>using</c> until the call that reads it has returned.
/// Not thread-safe; one optimizer per trainer.
/// </remarks>
internal sealed class AdamOptimizer : IDisposable
{
    private const string Magic = "VDADAM01";

    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Tensor[] _expAvg;
    private readonly Tensor[] _expAvgSq;
    private readonly long[] _steps;
    private readonly double _beta1;
    private readonly double _beta2;
    private readonly double _weightDecay;
    private readonly Scalar _beta1Scalar;
    private readonly Scalar _oneMinusBeta1;
    private readonly Scalar _beta2Scalar;
    private readonly Scalar _oneMinusBeta2;
    private readonly Scalar _epsilon;
    private readonly Scalar _weightDecayScalar;

    public AdamOptimizer(IReadOnlyList<Parameter> parameters, double beta1, double beta2, double epsilon, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegative(beta1);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(beta1, 1.0);
        ArgumentOutOfRangeException.ThrowIfNegative(beta2);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(beta2, 1.0);
        ArgumentOutOfRangeException.ThrowIfNegative(epsilon);
        ArgumentOutOfRangeException.ThrowIfNegative(weightDecay);
        _parameters = parameters;
        _beta1 = beta1;
        _beta2 = beta2;
        _weightDecay = weightDecay;
        _beta1Scalar = beta1.ToScalar();
        _oneMinusBeta1 = (1 - beta1).ToScalar();
        _beta2Scalar = beta2.ToScalar();
        _oneMinusBeta2 = (1 - beta2).ToScalar();
        _epsilon = epsilon.ToScalar();
        _weightDecayScalar = weightDecay.ToScalar();
        _steps = new long[parameters.Count];
        _expAvg = new Tensor[parameters.Count];
        _expAvgSq = new Tensor[parameters.Count];
        using var noGrad = no_grad();
        for (var i = 0; i < parameters.Count; i++)
        {
            _expAvg[i] = zeros_like(parameters[i]).DetachFromDisposeScope();
            _expAvgSq[i] = zeros_like(parameters[i]).DetachFromDisposeScope();
        }
    }

    /// <summary>Zeroes every parameter's gradient in place (as TorchSharp's <c>zero_grad</c> does).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            using var grad = p.grad;
            grad?.zero_();
        }
    }

    /// <summary>One Adam step at <paramref name="learningRate"/> for every parameter that has a gradient.</summary>
    public void Step(double learningRate)
    {
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Count; i++)
        {
            using var scope = NewDisposeScope();
            var parameter = _parameters[i];
            var grad = parameter.grad;
            if (grad is null)
            {
                continue;
            }

            var step = ++_steps[i];
            var biasCorrection1 = 1 - Math.Pow(_beta1, step);
            var biasCorrection2 = 1 - Math.Pow(_beta2, step);
            if (_weightDecay != 0)
            {
                grad = grad.add(parameter, _weightDecayScalar);
            }

            _expAvg[i].mul_(_beta1Scalar).add_(grad, _oneMinusBeta1);
            _expAvgSq[i].mul_(_beta2Scalar).addcmul_(grad, grad, _oneMinusBeta2);
            using var sqrtBiasCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
            using var stepSize = (-learningRate / biasCorrection1).ToScalar();
            var denominator = _expAvgSq[i].sqrt().div_(sqrtBiasCorrection2).add_(_epsilon);
            parameter.addcdiv_(_expAvg[i], denominator, stepSize);
        }
    }

    /// <summary>Writes the moments and step counts (the hyper-parameters come from the options on resume).</summary>
    public void Save(string path)
    {
        using var file = File.Create(path);
        using var writer = new BinaryWriter(file);
        writer.Write(Magic);
        writer.Write(_parameters.Count);
        for (var i = 0; i < _parameters.Count; i++)
        {
            writer.Write(_steps[i]);
            _expAvg[i].Save(writer);
            _expAvgSq[i].Save(writer);
        }
    }

    /// <summary>Restores what <see cref="Save"/> wrote; the parameter count and shapes must match.</summary>
    public void Load(string path)
    {
        using var file = File.OpenRead(path);
        using var reader = new BinaryReader(file);
        string magic;
        try
        {
            magic = reader.ReadString();
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or FormatException)
        {
            throw new InvalidDataException($"Optimizer state '{path}' is not a VideoData Adam state ({ex.Message}).", ex);
        }

        if (magic != Magic)
        {
            throw new InvalidDataException(
                $"Optimizer state '{path}' is not a VideoData Adam state (it may have been written by TorchSharp's optimizer in an earlier version); it cannot be resumed.");
        }

        var count = reader.ReadInt32();
        if (count != _parameters.Count)
        {
            throw new InvalidDataException($"Optimizer state '{path}' holds {count} parameters; the model has {_parameters.Count}.");
        }

        using var noGrad = no_grad();
        for (var i = 0; i < count; i++)
        {
            _steps[i] = reader.ReadInt64();
            _expAvg[i].Load(reader);
            _expAvgSq[i].Load(reader);
        }
    }

    public void Dispose()
    {
        foreach (var t in _expAvg.Concat(_expAvgSq))
        {
            t.Dispose();
        }

        _beta1Scalar.Dispose();
        _oneMinusBeta1.Dispose();
        _beta2Scalar.Dispose();
        _oneMinusBeta2.Dispose();
        _epsilon.Dispose();
        _weightDecayScalar.Dispose();
    }
}
