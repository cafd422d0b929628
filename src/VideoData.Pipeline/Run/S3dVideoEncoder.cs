using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using VideoData.Core.Frames;
using VideoData.Core.Scheduling;
using VideoData.Features.Extraction;
using VideoData.Features.Model;
using VideoData.Features.Runtime;
using VideoData.Features.Weights;
using VideoData.Pipeline.Definition;
using VideoData.Shards;

namespace VideoData.Pipeline.Run;

/// <summary>
/// The frozen S3D-G encoder as the pipeline's <see cref="IVideoEncoder"/>. It is built in the background (weights
/// read, S3D-G built on the thread its passes will run on) from the moment the worker starts, so that start-up
/// overlaps reading the manifest and decoding the first videos; the first batch waits for it, and a build failure
/// (unreadable weights, no libtorch) surfaces there and fails the run.
/// </summary>
internal sealed class S3dVideoEncoder : IVideoEncoder, IDisposable
{
    private readonly Task<(S3dEncoder Encoder, ShardLineage Lineage)> _building;

    private S3dVideoEncoder(Task<(S3dEncoder, ShardLineage)> building, bool randomWeights)
    {
        _building = building;
        RandomWeights = randomWeights;
    }

    /// <summary>Waits for the build if it is still running.</summary>
    public ShardLineage Lineage => _building.GetAwaiter().GetResult().Lineage;

    /// <summary>True when the weights are randomly initialised (demo without <c>s3d_howto100m.pth</c>): features are then not meaningful.</summary>
    public bool RandomWeights { get; }

    /// <summary>
    /// Starts loading the weights named by the definition, or, when it names none, building randomly initialised
    /// weights from <paramref name="randomSeed"/> (recorded in the lineage as such). Each forward pass holds
    /// <paramref name="turns"/> when given (the decoders' share of the cores, stages.cpu_turns).
    /// </summary>
    public static S3dVideoEncoder Start(PipelineDefinition definition, CpuTurns? turns = null, long randomSeed = 0) =>
        new(Task.Run(() => Build(definition, turns, randomSeed)), definition.Encoder.Weights is null);

    public async IAsyncEnumerable<EncodedVideo> EncodeAsync(IAsyncEnumerable<VideoFrames> videos, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (encoder, _) = await _building.WaitAsync(cancellationToken).ConfigureAwait(false);
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
            }
            else
            {
                _ = built.Exception;
            }
        },
        CancellationToken.None,
        TaskContinuationOptions.ExecuteSynchronously,
        TaskScheduler.Default);

    private static (S3dEncoder, ShardLineage) Build(PipelineDefinition definition, CpuTurns? turns, long randomSeed)
    {
        var options = new S3dEncoderOptions
        {
            Device = definition.Encoder.Device,
            SecondsPerBatch = definition.Encoder.SecondsPerBatch,
            L2Normalize = definition.Encoder.Normalize,
            FramesPerSecond = definition.Decode.Fps,
            FrameSize = definition.Decode.Size,
            Threads = definition.Encoder.Threads,
            Turns = turns,
            NativeMmapThreshold = definition.Encoder.NativeMmapThresholdMiB << 20,
            NativeHeap = definition.Encoder.NativeHeap switch
            {
                "threshold" => NativeHeapPolicy.MmapThreshold,
                "system" => NativeHeapPolicy.System,
                _ => NativeHeapPolicy.Reuse,
            },
        };
        var random = definition.Encoder.Weights is null;
        // libtorch work on the thread the passes run on (see S3dEncoder.Create).
        var weights = random ? MainThreadWorker.Invoke(() => BuildRandomWeights(randomSeed)) : WeightsFile.Load(definition.Encoder.Weights!);
        var encoder = S3dEncoder.Create(weights, options);
        var lineage = encoder.CreateLineage();
        var weightsNote = random ? $"random-init(seed={randomSeed}); features are not meaningful" : Path.GetFileName(definition.Encoder.Weights!);
        lineage = lineage with { Extra = new Dictionary<string, string>(lineage.Extra) { ["videodata.weights"] = weightsNote } };
        return (encoder, lineage);
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
}
