using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using VideoData.Core.Frames;
using VideoData.Features.Extraction;
using VideoData.Features.Model;
using VideoData.Features.Runtime;
using VideoData.Features.Weights;
using VideoData.Pipeline.Definition;
using VideoData.Shards;

namespace VideoData.Pipeline.Run;

/// <summary>
/// The frozen S3D-G encoder as the pipeline's <see cref="IVideoEncoder"/>. It is built in the background (compute host
/// started with the definition's encoder settings, weights read, S3D-G built on the host's thread) from the moment the
/// worker starts, so that start-up overlaps reading the manifest and decoding the first videos; the first batch waits
/// for it, and a build failure (unreadable weights, no libtorch) surfaces there and fails the run. It owns its
/// <see cref="ComputeHost"/> and disposes it after the encoder.
/// </summary>
internal sealed class S3dVideoEncoder : IVideoEncoder, IDisposable
{
    private readonly Task<Built> _building;

    private S3dVideoEncoder(Task<Built> building, bool randomWeights)
    {
        _building = building;
        RandomWeights = randomWeights;
    }

    /// <summary>Waits for the build if it is still running.</summary>
    public ShardLineage Lineage => _building.GetAwaiter().GetResult().Lineage;

    /// <summary>True when the weights are randomly initialised (demo without <c>s3d_howto100m.pth</c>): features are then not meaningful.</summary>
    public bool RandomWeights { get; }

    /// <summary>
    /// Starts a compute host on <paramref name="computeThread"/> (the caller's lent thread; null: a dedicated one) and
    /// loads the weights named by the definition, or, when it names none, builds randomly initialised weights from
    /// <paramref name="randomSeed"/> (recorded in the lineage as such).
    /// </summary>
    public static S3dVideoEncoder Start(PipelineDefinition definition, ComputeThread? computeThread = null, long randomSeed = 0) =>
        new(Task.Run(() => Build(definition, computeThread, randomSeed)), definition.Encoder.Weights is null);

    /// <summary>
    /// The decoders' hook when they share the cores with a CPU encoder (stages.cpu_turns): blocks while a forward pass
    /// runs; returns whether it waited. Never waits before the encoder is built.
    /// </summary>
    public bool WaitForTurn(CancellationToken cancellationToken) =>
        _building.IsCompletedSuccessfully && _building.Result.Host.WaitForTurn(cancellationToken);

    public async IAsyncEnumerable<EncodedVideo> EncodeAsync(IAsyncEnumerable<VideoFrames> videos, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var encoder = (await _building.WaitAsync(cancellationToken).ConfigureAwait(false)).Encoder;
        await foreach (var result in encoder.EncodeAsync(videos, cancellationToken).ConfigureAwait(false))
        {
            yield return result;
        }
    }

    /// <summary>Frees the encoder, once built when the build is still running (its failure, if any, is then dropped).</summary>
    public void Dispose() => _building.ContinueWith(
        static built =>
        {
            if (built.IsCompletedSuccessfully)
            {
                built.Result.Encoder.Dispose();
                built.Result.Host.Dispose();
            }
            else
            {
                _ = built.Exception;
            }
        },
        CancellationToken.None,
        TaskContinuationOptions.ExecuteSynchronously,
        TaskScheduler.Default);

    private static Built Build(PipelineDefinition definition, ComputeThread? computeThread, long randomSeed)
    {
        var host = ComputeHost.Start(LibraryOptions.ForComputeHost(definition.Encoder), computeThread);
        try
        {
            var options = LibraryOptions.ForEncoder(definition);
            var random = definition.Encoder.Weights is null;
            var weights = random ? host.Run(() => BuildRandomWeights(randomSeed)) : WeightsFile.Load(definition.Encoder.Weights!);
            var encoder = S3dEncoder.Create(weights, options, host);
            var lineage = encoder.CreateLineage();
            var weightsNote = random ? $"random-init(seed={randomSeed}); features are not meaningful" : Path.GetFileName(definition.Encoder.Weights!);
            lineage = lineage with { Extra = new Dictionary<string, string>(lineage.Extra) { ["videodata.weights"] = weightsNote } };
            return new Built(host, encoder, lineage);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>A state dict with the published checkpoint's keys and shapes, randomly initialised (TorchSharp's default initialisation, seeded).</summary>
    private static StateDict BuildRandomWeights(long seed)
    {
        torch.manual_seed(seed);
        using var model = new S3dG();
        var tensors = new List<WeightTensor>();
        foreach (var (name, tensor) in model.state_dict())
        {
            var (dtype, data) = tensor.dtype switch
            {
                torch.ScalarType.Int64 => (WeightDType.Int64, MemoryMarshal.AsBytes(tensor.data<long>().ToArray().AsSpan()).ToArray()),
                _ => (WeightDType.Float32, MemoryMarshal.AsBytes(tensor.to_type(torch.ScalarType.Float32).data<float>().ToArray().AsSpan()).ToArray()),
            };
            tensors.Add(new WeightTensor(name, dtype, tensor.shape, data));
        }

        return new StateDict($"random-init(seed={seed})", "random", tensors);
    }

    private sealed record Built(ComputeHost Host, S3dEncoder Encoder, ShardLineage Lineage);
}
