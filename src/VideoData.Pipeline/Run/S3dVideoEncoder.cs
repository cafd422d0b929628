using VideoData.Core.Scheduling;
using System.Runtime.InteropServices;
using TorchSharp;
using VideoData.Features.Extraction;
using VideoData.Features.Model;
using VideoData.Features.Runtime;
using VideoData.Features.Shards;
using VideoData.Features.Weights;
using VideoData.Pipeline.Definition;

namespace VideoData.Pipeline.Run;

/// <summary>The frozen S3D-G encoder as the pipeline's <see cref="IVideoEncoder"/>.</summary>
internal sealed class S3dVideoEncoder : IVideoEncoder, IDisposable
{
    private readonly S3dEncoder _encoder;

    private S3dVideoEncoder(S3dEncoder encoder, ShardLineage lineage)
    {
        _encoder = encoder;
        Lineage = lineage;
    }

    public ShardLineage Lineage { get; }

    /// <summary>True when the weights were randomly initialised (demo without <c>s3d_howto100m.pth</c>): features are then not meaningful.</summary>
    public bool RandomWeights { get; private init; }

    /// <summary>
    /// Loads the weights named by the definition, or, when it names none, builds randomly initialised weights
    /// from <paramref name="randomSeed"/> (recorded in the lineage as such). Each forward pass holds
    /// <paramref name="turns"/> when given (the decoders' share of the cores, stages.cpu_turns).
    /// </summary>
    public static S3dVideoEncoder Create(PipelineDefinition definition, CpuTurns? turns = null, long randomSeed = 0)
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
        if (random)
        {
            lineage = lineage with
            {
                Extra = new Dictionary<string, string>(lineage.Extra) { ["videodata.weights"] = $"random-init(seed={randomSeed}); features are not meaningful" },
            };
        }
        else
        {
            lineage = lineage with { Extra = new Dictionary<string, string>(lineage.Extra) { ["videodata.weights"] = Path.GetFileName(definition.Encoder.Weights!) } };
        }

        return new S3dVideoEncoder(encoder, lineage) { RandomWeights = random };
    }

    public IAsyncEnumerable<EncodedVideo> EncodeAsync(IAsyncEnumerable<VideoFrames> videos, CancellationToken cancellationToken) =>
        _encoder.EncodeAsync(videos, cancellationToken);

    public void Dispose() => _encoder.Dispose();

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
