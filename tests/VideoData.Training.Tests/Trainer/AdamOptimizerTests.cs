using TorchSharp;
using TorchSharp.Modules;
using VideoData.Training.Trainer;
using static TorchSharp.torch;

namespace VideoData.Training.Tests.Trainer;

[Collection("TorchSharp training")]
public sealed class AdamOptimizerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-adam-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Parameters of the given shapes drawn from a fixed seed, so two calls give equal copies.
    private static List<Parameter> Parameters(params long[][] shapes)
    {
        random.manual_seed(5);
        return shapes.Select(s => new Parameter(randn(s))).ToList();
    }

    // Gives every parameter the gradient of step `step` (a fixed function of the step and the parameter).
    private static void SetGradients(IReadOnlyList<Parameter> parameters, int step)
    {
        using var scope = NewDisposeScope();
        for (var i = 0; i < parameters.Count; i++)
        {
            using var generator = new Generator((ulong)((step * 31) + i));
            parameters[i].grad = randn(parameters[i].shape, generator: generator).DetachFromDisposeScope();
        }
    }

    private static float[] Values(IEnumerable<Parameter> parameters) =>
        parameters.SelectMany(p => p.detach().data<float>().ToArray()).ToArray();

    [Fact]
    public void Step_SameGradients_EqualTorchSharpsAdamBitForBit()
    {
        long[][] shapes = [[7, 5], [5], [3, 4, 2]];
        var ours = Parameters(shapes);
        var theirs = Parameters(shapes);
        Assert.Equal(Values(ours), Values(theirs));
        using var adam = new AdamOptimizer(ours, 0.9, 0.98, 1e-8, 0.01);
        using var reference = optim.Adam(theirs, 1e-3, 0.9, 0.98, 1e-8, 0.01);
        for (var step = 0; step < 6; step++)
        {
            var lr = 1e-3 * (step + 1);
            SetGradients(ours, step);
            SetGradients(theirs, step);
            adam.Step(lr);
            foreach (var group in reference.ParamGroups)
            {
                group.LearningRate = lr;
            }

            reference.step();
        }

        Assert.Equal(Values(theirs), Values(ours));
        Assert.NotEqual(Values(Parameters(shapes)), Values(ours));
    }

    [Fact]
    public void Step_ParameterWithoutGradient_IsLeftAsItIs()
    {
        var parameters = Parameters([4], [3]);
        var before = parameters[1].detach().clone();
        using var adam = new AdamOptimizer(parameters, 0.9, 0.98, 1e-8, 0);
        parameters[0].grad = ones(4);
        adam.Step(0.1);
        Assert.Equal(before.data<float>().ToArray(), parameters[1].data<float>().ToArray());
        Assert.All(parameters[0].data<float>().ToArray().Zip(Parameters([4], [3])[0].data<float>().ToArray()), p => Assert.NotEqual(p.First, p.Second));
    }

    [Fact]
    public void Step_WhileAnotherThreadCollectsGarbage_MatchesAQuietRun()
    {
        // A garbage collection during a native call must not free a coefficient libtorch is reading (the failure
        // TorchSharp's own optimizer has). Large parameters keep each call long enough for collections to land inside.
        long[][] shapes = [[1 << 20], [512, 512]];
        var quiet = Parameters(shapes);
        using (var adam = new AdamOptimizer(quiet, 0.9, 0.98, 1e-8, 0.01))
        {
            for (var step = 0; step < 40; step++)
            {
                SetGradients(quiet, step);
                adam.Step(1e-3);
            }
        }

        var noisy = Parameters(shapes);
        var stop = false;
        var collections = 0;
        using var started = new ManualResetEventSlim();
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                _ = new byte[64 << 10];
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Interlocked.Increment(ref collections);
                started.Set();
            }
        });
        collector.Start();
        started.Wait();
        var before = Volatile.Read(ref collections);
        using (var adam = new AdamOptimizer(noisy, 0.9, 0.98, 1e-8, 0.01))
        {
            for (var step = 0; step < 40; step++)
            {
                SetGradients(noisy, step);
                adam.Step(1e-3);
            }
        }

        var during = Volatile.Read(ref collections) - before;
        Volatile.Write(ref stop, true);
        collector.Join();
        Assert.True(during > 0, "no collection ran while the optimizer stepped");
        Assert.Equal(Values(quiet), Values(noisy));
    }

    [Fact]
    public void SaveThenLoad_ContinuesExactlyAsTheOriginal()
    {
        long[][] shapes = [[6, 3], [3]];
        var original = Parameters(shapes);
        using var adam = new AdamOptimizer(original, 0.9, 0.98, 1e-8, 0);
        for (var step = 0; step < 3; step++)
        {
            SetGradients(original, step);
            adam.Step(1e-2);
        }

        var path = Path.Combine(_dir, "optimizer.bin");
        adam.Save(path);
        var copy = Parameters(shapes);
        using (no_grad())
        {
            for (var i = 0; i < copy.Count; i++)
            {
                copy[i].copy_(original[i]);
            }
        }

        using var restored = new AdamOptimizer(copy, 0.9, 0.98, 1e-8, 0);
        restored.Load(path);
        SetGradients(original, 3);
        SetGradients(copy, 3);
        adam.Step(1e-2);
        restored.Step(1e-2);
        Assert.Equal(Values(original), Values(copy));

        // A fresh optimizer (step counts 0, zero moments) would not land on the same weights.
        var fresh = Parameters(shapes);
        using (no_grad())
        {
            for (var i = 0; i < fresh.Count; i++)
            {
                fresh[i].copy_(copy[i]);
            }
        }

        using var unrestored = new AdamOptimizer(fresh, 0.9, 0.98, 1e-8, 0);
        SetGradients(fresh, 4);
        SetGradients(copy, 4);
        unrestored.Step(1e-2);
        restored.Step(1e-2);
        Assert.NotEqual(Values(copy), Values(fresh));
    }

    [Fact]
    public void Load_ForeignFileOrOtherModel_FailsNamingTheFile()
    {
        var parameters = Parameters([2, 2]);
        using var adam = new AdamOptimizer(parameters, 0.9, 0.98, 1e-8, 0);
        var foreign = Path.Combine(_dir, "foreign.bin");
        File.WriteAllBytes(foreign, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var error = Assert.Throws<InvalidDataException>(() => adam.Load(foreign));
        Assert.Contains(foreign, error.Message, StringComparison.Ordinal);

        var other = Path.Combine(_dir, "other.bin");
        using (var two = new AdamOptimizer(Parameters([2], [2]), 0.9, 0.98, 1e-8, 0))
        {
            two.Save(other);
        }

        error = Assert.Throws<InvalidDataException>(() => adam.Load(other));
        Assert.Contains("holds 2 parameters; the model has 1", error.Message, StringComparison.Ordinal);
    }
}
