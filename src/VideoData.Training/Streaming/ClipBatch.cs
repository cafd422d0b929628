using VideoData.Training.Sampling;
using static TorchSharp.torch;

namespace VideoData.Training.Streaming;

/// <summary>
/// One batch of clips as the trainer consumes it, already on the target device. <c>N</c> = videos × clips
/// per video. The batch owns its tensors; dispose it when the step is done. On the CPU the tensors are views
/// of buffers the streamer reuses for later batches: they (and views of them) are valid until the batch is
/// disposed — clone anything that must outlive it.
/// </summary>
public sealed class ClipBatch : IDisposable
{
    private Action? _release;

    internal ClipBatch(int epoch, int step, Tensor caps, Tensor cmasks, Tensor vfeats, Tensor vmasks, string[] videoIds, ClipSpan[] spans, Action? release = null, Tensor? vpositions = null)
    {
        Vpositions = vpositions;
        _release = release;
        Epoch = epoch;
        Step = step;
        Caps = caps;
        Cmasks = cmasks;
        Vfeats = vfeats;
        Vmasks = vmasks;
        VideoIds = videoIds;
        Spans = spans;
    }

    /// <summary>The epoch of the plan this batch comes from.</summary>
    public int Epoch { get; }

    /// <summary>The batch's index in the (rank's) plan, i.e. the step within the epoch.</summary>
    public int Step { get; }

    /// <summary>Caption token ids, <c>[N, CaptionLength]</c> int64.</summary>
    public Tensor Caps { get; }

    /// <summary>Caption masks, <c>[N, CaptionLength]</c> bool, true on non-pad positions.</summary>
    public Tensor Cmasks { get; }

    /// <summary>Video features, <c>[N, MaxVideoTokens, FeatureDim]</c> float32, zero-padded.</summary>
    public Tensor Vfeats { get; }

    /// <summary>Video masks, <c>[N, MaxVideoTokens]</c> bool, true on real seconds.</summary>
    public Tensor Vmasks { get; }

    /// <summary>
    /// With token dropout: each kept second's position in its clip, <c>[N, W]</c> int64 (W the dropped width of
    /// <see cref="Vfeats"/> and <see cref="Vmasks"/>; 0 where the mask is false). Null without token dropout, when row i is second i.
    /// </summary>
    public Tensor? Vpositions { get; }

    /// <summary>The video id of each clip (clips of a video are consecutive).</summary>
    public IReadOnlyList<string> VideoIds { get; }

    /// <summary>The span boundaries of each clip.</summary>
    public IReadOnlyList<ClipSpan> Spans { get; }

    /// <summary>Number of clips, <c>N</c>.</summary>
    public int ClipCount => VideoIds.Count;

    /// <inheritdoc />
    public void Dispose()
    {
        Caps.Dispose();
        Cmasks.Dispose();
        Vfeats.Dispose();
        Vmasks.Dispose();
        Vpositions?.Dispose();
        Interlocked.Exchange(ref _release, null)?.Invoke();
    }
}
